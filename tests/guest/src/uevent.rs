//! `uevent`: when udev hears that a node was added (the `KOBJ_ADD` uevent), its sysfs
//! attributes are already there, and the node sits under its PCI device in the device tree
//! (`/sys/class/misc/bochsfbN/device` is the card).
//!
//! The check listens on the kernel's uevent netlink socket, as udev does, while the card is
//! unbound and bound again, and reads the attributes as soon as the `add` event arrives.

use std::fs;
use std::io;
use std::mem;
use std::time::{Duration, Instant};

use crate::report::{Outcome, Report};
use crate::unbind::{bound_card, sysfs_write};

/// The attributes every node has (kmod/misc/sysfs.rs, docs/architecture.md).
const ATTRIBUTES: [&str; 5] = ["card", "mode", "virtual_height", "y_offset", "vram_size"];

/// How long to wait for the `add` event after binding.
const EVENT_TIMEOUT: Duration = Duration::from_secs(10);

pub fn run(report: &mut Report) {
    let pci = match bound_card() {
        Ok(pci) => pci,
        Err(why) => return report.check("find the bound card in sysfs", Err(why)),
    };
    let socket = match UeventSocket::open() {
        Ok(socket) => socket,
        Err(e) => return report.check("open a uevent netlink socket", Err(e.to_string())),
    };
    let cycled = sysfs_write("unbind", &pci).and_then(|()| sysfs_write("bind", &pci));
    let ok = cycled.is_ok();
    report.check(&format!("unbind and bind {pci}"), cycled);
    if !ok {
        return;
    }

    // Read the attributes the moment the event is seen, before anything else.
    let event = socket.wait_for(EVENT_TIMEOUT, |event| {
        event.get("ACTION") == Some("add")
            && event.get("SUBSYSTEM") == Some("misc")
            && event
                .get("DEVNAME")
                .is_some_and(|n| n.starts_with("bochsfb"))
    });
    let event = match event {
        Ok(event) => event,
        Err(why) => return report.check("a misc `add` uevent for a bochsfb node", Err(why)),
    };
    let devpath = event.get("DEVPATH").unwrap_or_default().to_string();
    let missing: Vec<&str> = ATTRIBUTES
        .iter()
        .copied()
        .filter(|name| fs::read_to_string(format!("/sys{devpath}/{name}")).is_err())
        .collect();
    report.check(
        &format!(
            "at the add uevent, /sys{devpath} has {}",
            ATTRIBUTES.join(", ")
        ),
        if missing.is_empty() {
            Ok(())
        } else {
            Err(format!("missing or unreadable: {missing:?}"))
        },
    );
    report.check(
        &format!("the node's DEVPATH is under the PCI device {pci}"),
        if devpath.contains(&format!("/{pci}/misc/")) {
            Ok(())
        } else {
            Err(format!("DEVPATH is {devpath}"))
        },
    );
    let name = event.get("DEVNAME").unwrap_or_default().to_string();
    report.check(
        &format!("/sys/class/misc/{name}/device is {pci}"),
        same_file(
            &format!("/sys/class/misc/{name}/device"),
            &format!("/sys/bus/pci/devices/{pci}"),
        ),
    );
}

fn same_file(a: &str, b: &str) -> Outcome {
    let resolve = |p: &str| fs::canonicalize(p).map_err(|e| format!("{p}: {e}"));
    let (ra, rb) = (resolve(a)?, resolve(b)?);
    if ra == rb {
        Ok(())
    } else {
        Err(format!("{} is not {}", ra.display(), rb.display()))
    }
}

/// One uevent: `ACTION@DEVPATH` and `KEY=value` pairs.
struct Uevent(Vec<(String, String)>);

impl Uevent {
    /// Parses a kernel uevent message: NUL-separated, the first field `ACTION@DEVPATH`.
    fn parse(message: &[u8]) -> Option<Self> {
        let mut fields = message.split(|&b| b == 0).filter(|f| !f.is_empty());
        if !fields.next()?.contains(&b'@') {
            return None; // not a kernel message (udev's own start with "libudev")
        }
        let pairs = fields
            .filter_map(|f| {
                let text = std::str::from_utf8(f).ok()?;
                let (key, value) = text.split_once('=')?;
                Some((key.to_string(), value.to_string()))
            })
            .collect();
        Some(Self(pairs))
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// A socket subscribed to the kernel's uevent broadcasts.
struct UeventSocket(libc::c_int);

impl UeventSocket {
    fn open() -> io::Result<Self> {
        // SAFETY: plain socket creation; the descriptor is owned by the returned value.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
                libc::NETLINK_KOBJECT_UEVENT,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let socket = Self(fd);
        // SAFETY: `sockaddr_nl` is plain data; all zero is a valid value.
        let mut addr: libc::sockaddr_nl = unsafe { mem::zeroed() };
        addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        addr.nl_groups = 1; // the kernel's uevent group
                            // SAFETY: `addr` is a valid `sockaddr_nl` of the given size.
        let bound = unsafe {
            libc::bind(
                fd,
                (&raw const addr).cast(),
                mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if bound != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(socket)
    }

    /// Reads events until one satisfies `wanted`, or `timeout` passes.
    fn wait_for(
        &self,
        timeout: Duration,
        wanted: impl Fn(&Uevent) -> bool,
    ) -> Result<Uevent, String> {
        let deadline = Instant::now() + timeout;
        let mut buf = vec![0u8; 16384];
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!("none within {timeout:?}; saw {seen:?}"));
            }
            let mut poll = libc::pollfd {
                fd: self.0,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            let ready = unsafe { libc::poll(&mut poll, 1, left.as_millis() as libc::c_int) };
            if ready < 0 {
                return Err(format!("poll: {}", io::Error::last_os_error()));
            }
            if ready == 0 {
                continue;
            }
            // SAFETY: `buf` is writable for its length.
            let len = unsafe { libc::recv(self.0, buf.as_mut_ptr().cast(), buf.len(), 0) };
            if len < 0 {
                return Err(format!("recv: {}", io::Error::last_os_error()));
            }
            if let Some(event) = Uevent::parse(&buf[..len as usize]) {
                if wanted(&event) {
                    return Ok(event);
                }
                seen.push(format!(
                    "{} {}",
                    event.get("ACTION").unwrap_or("?"),
                    event.get("DEVPATH").unwrap_or("?")
                ));
            }
        }
    }
}

impl Drop for UeventSocket {
    fn drop(&mut self) {
        // SAFETY: the descriptor is ours and closed once.
        unsafe { libc::close(self.0) };
    }
}

#[cfg(test)]
mod tests {
    use super::Uevent;

    #[test]
    fn a_kernel_uevent_is_split_into_its_fields() {
        let message = b"add@/devices/pci0000:00/0000:00:02.0/misc/bochsfb0\0ACTION=add\0DEVPATH=/devices/pci0000:00/0000:00:02.0/misc/bochsfb0\0SUBSYSTEM=misc\0DEVNAME=bochsfb0\0";
        let event = Uevent::parse(message).unwrap();
        assert_eq!(event.get("ACTION"), Some("add"));
        assert_eq!(event.get("DEVNAME"), Some("bochsfb0"));
        assert_eq!(event.get("MAJOR"), None);
        assert!(Uevent::parse(b"libudev\0ACTION=add\0").is_none());
    }
}
