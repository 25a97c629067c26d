// SPDX-License-Identifier: GPL-2.0

//! `/dev/bochsfbN`: the character device of one card.
//!
//! Two ways to reach VRAM, as in LDD3 chapter 15:
//! - `mmap`: VRAM itself is mapped write-combined into the process; drawing is plain stores.
//! - `lseek` + `read`/`write` (and `pread`/`pwrite`): a write copies once, from the caller's
//!   pages straight into VRAM with page faults off, and bounces through a kernel buffer only
//!   what that copy could not reach (a page not present; every byte of a kernel iterator, such
//!   as splice's, and on other than x86); a read bounces.
//!
//! Every open file holds an `Arc<FbCard>` and maps through the card's address space. When the card
//! is unbound its VRAM handle is revoked and its user mappings are zapped: calls on files still
//! open fail with `ENODEV`, and touching an old mapping raises `SIGBUS`.

use super::{
    abi::{self, Rect},
    fbcard::FbCard,
    fbdev,
};
use crate::{card::vram, uapi::BochsfbDamage};
use core::mem::{offset_of, size_of, MaybeUninit};
use kernel::{
    fs::{file, DeviceAddressSpace, File, Kiocb},
    iov::{IovIterDest, IovIterSource},
    miscdevice::{MiscDevice, MiscDeviceAttribute, MiscDeviceRegistration, SeekRequest},
    mm::virt::{flags, VmFault, VmaNew, VmaRef},
    page::PAGE_SIZE,
    prelude::*,
    sync::{Arc, ArcBorrow},
    uaccess::{UserPtr, UserSlice},
    video::fb::fb_var_screeninfo,
};

/// Bounce-buffer size for `read`/`write`: one page, so the buffer is an order-0 allocation
/// (never `ENOMEM` from fragmentation) and each revocation guard covers one page-sized copy.
const COPY_CHUNK: usize = PAGE_SIZE;

/// Transfers up to this many bytes bounce through the stack, with no allocation at all.
const SMALL_COPY: usize = 256;

impl FbCard {
    /// The transfer of up to `count` bytes at file position `pos`, bounded by the frame, and
    /// whether `pos` lies beyond the end of the frame. Takes no lock (see `FbCard::frame_size`).
    fn span(&self, pos: i64, count: usize) -> Result<(Transfer, bool)> {
        let start = usize::try_from(pos).map_err(|_| EINVAL)?;
        let fb_size = self.frame_size()?;
        let total = fb_size.saturating_sub(start).min(count);
        Ok((
            Transfer {
                start,
                total,
                done: 0,
            },
            start > fb_size,
        ))
    }
}

/// A `read` or `write` under way: `total` bytes at VRAM offset `start`, of which `done` are
/// copied. [`FbCard::span`] keeps `start + total` inside the frame and each step adds at most what
/// is left, so the arithmetic never saturates; it saturates all the same because `start` is the
/// caller's file position (`pread`/`pwrite` pass any offset), so no bug here can overflow.
struct Transfer {
    start: usize,
    total: usize,
    done: usize,
}

impl Transfer {
    fn finished(&self) -> bool {
        self.done >= self.total
    }

    /// Bytes to copy next: what is left, at most `max`.
    fn next_len(&self, max: usize) -> usize {
        self.total.saturating_sub(self.done).min(max)
    }

    /// VRAM offset of the next byte to copy.
    fn offset(&self) -> usize {
        self.start.saturating_add(self.done)
    }

    /// Counts `copied` more bytes done.
    fn advance(&mut self, copied: usize) {
        self.done = self.done.saturating_add(copied);
    }

    /// The file position after the bytes done, for `ki_pos` (which started at `start`).
    fn end_pos(&self, pos: i64) -> i64 {
        pos.saturating_add_unsigned(self.done as u64)
    }
}

/// The file operations of `/dev/bochsfbN`. Each open file is just a reference to its card.
pub(crate) struct CardFile;

#[vtable]
impl MiscDevice for CardFile {
    type Ptr = Arc<FbCard>;
    type RegistrationData = Arc<FbCard>;

    const ATTRIBUTES: &'static [MiscDeviceAttribute<Self>] = &super::sysfs::ATTRIBUTES;

    fn open(_file: &File, misc: &MiscDeviceRegistration<Self>) -> Result<Arc<FbCard>> {
        let card = misc.data().clone();
        // An unbound card's node is gone, but a racing open may still get here (`ENODEV`).
        card.opened()?;
        Ok(card)
    }

    fn release(card: Arc<FbCard>, _file: &File) {
        card.closed();
    }

    fn address_space(misc: &MiscDeviceRegistration<Self>) -> Option<&DeviceAddressSpace> {
        Some(misc.data().address_space())
    }

    fn llseek(card: ArcBorrow<'_, FbCard>, seek: SeekRequest<'_>) -> Result<i64> {
        // Positions are VRAM offsets: 0..=fb_size, anything else is EINVAL.
        let (mode, _) = card.mode()?;
        seek.fixed_size(i64::try_from(mode.fb_size())?)
    }

    fn read_iter(mut kiocb: Kiocb<'_, Arc<FbCard>>, iov: &mut IovIterDest<'_>) -> Result<usize> {
        let card = kiocb.file();
        let pos = kiocb.ki_pos();
        let (mut transfer, _) = card.span(pos, iov.len())?;

        let mut small = [0u8; SMALL_COPY];
        let mut page;
        let bounce: &mut [u8] = if transfer.total <= SMALL_COPY {
            &mut small
        } else {
            page = KVec::from_elem(0u8, COPY_CHUNK, GFP_KERNEL)?;
            &mut page
        };
        while !transfer.finished() {
            let chunk = &mut bounce[..transfer.next_len(COPY_CHUNK)];
            // Copy out of VRAM under the revocation guard, then to the user without it: the
            // guard is an RCU read-side section and copying to the user may fault and sleep.
            // Unbound halfway: report what was read (the next call gets `ENODEV`).
            let offset = transfer.offset();
            match card.with_vram(|vram| vram.try_copy_to_slice(offset, chunk)) {
                Ok(()) => {}
                Err(_) if transfer.done > 0 => break,
                Err(e) => return Err(e),
            }
            let copied = iov.copy_to_iter(chunk);
            transfer.advance(copied);
            if copied < chunk.len() {
                break;
            }
        }
        if transfer.done == 0 && transfer.total != 0 {
            return Err(EFAULT);
        }
        *kiocb.ki_pos_mut() = transfer.end_pos(pos);
        Ok(transfer.done)
    }

    fn write_iter(mut kiocb: Kiocb<'_, Arc<FbCard>>, iov: &mut IovIterSource<'_>) -> Result<usize> {
        let card = kiocb.file();
        let pos = kiocb.ki_pos();
        let (mut transfer, past_end) = card.span(pos, iov.len())?;
        if transfer.total == 0 && !iov.is_empty() {
            // As fbdev's `fb_io_write`: past the end the file is too big, at the end no space
            // is left on the device.
            return Err(if past_end { EFBIG } else { ENOSPC });
        }

        // Left uninitialised: every byte sent to VRAM was first copied in from the user.
        let mut small = [MaybeUninit::<u8>::uninit(); SMALL_COPY];
        let mut page = KVec::<u8>::new();
        while !transfer.finished() {
            let mut want = transfer.next_len(COPY_CHUNK);
            // One copy first, the caller's pages straight into VRAM under the guard (faults
            // off). A page not present stops it short: the rest of the chunk bounces below, and
            // that copy faults the page in.
            let offset = transfer.offset();
            match card.with_vram(|vram| vram::copy_from_user_nofault(vram, offset, iov, want)) {
                Ok(copied) => {
                    transfer.advance(copied);
                    // At most `want` bytes are copied.
                    want = want.saturating_sub(copied);
                }
                Err(_) if transfer.done > 0 => break,
                Err(e) => return Err(e),
            }
            if want == 0 {
                continue;
            }
            let bounce: &mut [MaybeUninit<u8>] = if transfer.total <= SMALL_COPY {
                &mut small
            } else {
                if page.capacity() == 0 {
                    page = KVec::with_capacity(COPY_CHUNK, GFP_KERNEL)?;
                }
                page.spare_capacity_mut()
            };
            // Copy from the user first (may fault and sleep), then into VRAM under the guard.
            let chunk = iov.copy_from_iter_raw(&mut bounce[..want]);
            let copied = chunk.len();
            // Unbound halfway: report what was written (the next call gets `ENODEV`).
            let offset = transfer.offset();
            match card.with_vram(|vram| vram.try_copy_from_slice(offset, chunk)) {
                Ok(()) => {}
                Err(_) if transfer.done > 0 => break,
                Err(e) => return Err(e),
            }
            transfer.advance(copied);
            if copied < want {
                break;
            }
        }
        if transfer.done == 0 && transfer.total != 0 {
            return Err(EFAULT);
        }
        *kiocb.ki_pos_mut() = transfer.end_pos(pos);
        Ok(transfer.done)
    }

    fn mmap(card: ArcBorrow<'_, FbCard>, _file: &File, vma: &VmaNew) -> Result {
        // A private mapping would give the process copy-on-write copies of device memory, which
        // is never what a framebuffer user wants (fbdev and DRM refuse it too).
        if vma.flags() & flags::MAYSHARE == 0 {
            return Err(EINVAL);
        }
        // VRAM holds pixels, never code: `PROT_EXEC` is refused, and `mprotect` cannot add it
        // later. The exception is a task with the `READ_IMPLIES_EXEC` personality (old i386
        // binaries), to which the kernel adds it on every readable mapping: it gets the mapping
        // executable, as fbdev gives everyone.
        let implied_exec = vma.flags() & flags::EXEC != 0 && kernel::current!().read_implies_exec();
        if !implied_exec {
            vma.try_clear_mayexec()?;
        }
        // The offset picks the mapping strategy; see `FbCard::mmap`.
        card.mmap(vma)
    }

    #[cfg(CONFIG_COMPAT)]
    fn compat_ioctl(
        card: ArcBorrow<'_, FbCard>,
        file: &File,
        cmd: u32,
        arg: usize,
    ) -> Result<isize> {
        compat_ioctl(card, file, cmd, arg)
    }

    fn fault(card: ArcBorrow<'_, FbCard>, fault: &VmFault<'_>) -> Result {
        card.fault(&vram::Fault::new(fault)?)
    }

    fn may_remap(card: ArcBorrow<'_, FbCard>, vma: &VmaRef) -> Result {
        card.check_remap(&vram::file_range(vma)?)
    }

    fn ioctl(card: ArcBorrow<'_, FbCard>, file: &File, cmd: u32, arg: usize) -> Result<isize> {
        let user = |len: usize| UserSlice::new(UserPtr::from_addr(arg), len);
        if !may_issue(cmd, file) {
            return Err(EBADF);
        }
        match cmd {
            abi::IOCTL_GET_MODE => {
                let (mode, y_offset) = card.mode()?;
                let bytes = abi::mode_abi_bytes(&mode, y_offset, card.hw.vram_size);
                user(bytes.len()).writer().write_slice(&bytes)?;
            }
            abi::IOCTL_SET_MODE => {
                let mut request = [0u8; abi::MODE_ABI_SIZE];
                user(request.len()).reader().read_slice(&mut request)?;
                let (width, height, bpp, virtual_height) = abi::mode_request(&request);
                let mode = card.check_mode(width, height, bpp, virtual_height)?;
                card.set_mode(mode)?;
                let bytes = abi::mode_abi_bytes(&mode, 0, card.hw.vram_size);
                user(bytes.len()).writer().write_slice(&bytes)?;
            }
            abi::IOCTL_PAN => {
                let mut y_offset = [0u8; 4];
                user(4).reader().read_slice(&mut y_offset)?;
                card.pan(u32::from_ne_bytes(y_offset))?;
            }
            abi::IOCTL_WAIT_VSYNC => card.wait_vsync()?,
            abi::IOCTL_FLUSH => flush(&card, &user)?,
            fbdev::FBIOGET_VSCREENINFO => {
                let (mode, y_offset) = card.mode()?;
                user(size_of::<fb_var_screeninfo>())
                    .writer()
                    .write(&fbdev::var_screeninfo(&mode, y_offset))?;
            }
            fbdev::FBIOGET_FSCREENINFO => {
                let (mode, _) = card.mode()?;
                user(fbdev::FIX_SIZE)
                    .writer()
                    .write_slice(&fbdev::fix_bytes(&mode))?;
            }
            fbdev::FBIOPUT_VSCREENINFO => {
                let var: fb_var_screeninfo =
                    user(size_of::<fb_var_screeninfo>()).reader().read()?;
                let request = fbdev::VarRequest::parse(&var);
                // `FB_ACTIVATE_TEST` only asks whether a mode would be taken: looking.
                if !request.test_only && !may_change_display_through_fbdev(file) {
                    return Err(EBADF);
                }
                if request.x_offset != 0 {
                    return Err(EINVAL);
                }
                let mode = card.check_mode(
                    request.width,
                    request.height,
                    request.bpp,
                    request.virtual_height,
                )?;
                let y_offset = if mode.can_pan_to(request.y_offset) {
                    request.y_offset
                } else {
                    0
                };
                if !request.test_only {
                    if card.mode()?.0 != mode {
                        card.set_mode(mode)?;
                    }
                    card.pan(y_offset)?;
                }
                // As fbdev does, hand back the request as the driver rounded it.
                user(size_of::<fb_var_screeninfo>())
                    .writer()
                    .write(&fbdev::var_screeninfo(&mode, y_offset))?;
            }
            fbdev::FBIOPAN_DISPLAY => {
                let var: fb_var_screeninfo =
                    user(size_of::<fb_var_screeninfo>()).reader().read()?;
                match (var.xoffset, var.yoffset) {
                    (0, y_offset) => card.pan(y_offset)?,
                    _ => return Err(EINVAL),
                }
            }
            fbdev::FBIO_WAITFORVSYNC => {
                // The argument names the CRTC; this card has one.
                let mut crtc = [0u8; 4];
                user(4).reader().read_slice(&mut crtc)?;
                if u32::from_ne_bytes(crtc) != 0 {
                    return Err(EINVAL);
                }
                card.wait_vsync()?;
            }
            _ => return Err(ENOTTY),
        }
        Ok(0)
    }
}

/// Whether `file` may issue ioctl `cmd`. What changes the display (and may zap other
/// processes' mappings) needs a file open for writing, as writing VRAM does: a read-only file
/// (a screenshot tool's) can only look.
///
/// fbdev's own two display-changing ioctls keep fbdev's convention for the tools written for it
/// (Debian's `fbset` sets modes through a file it opened read-only): on a read-only file they
/// need the caller's write permission on the node, so a process that was only handed a
/// read-only file of a node it may not write cannot use them.
fn may_issue(cmd: u32, file: &File) -> bool {
    match cmd {
        abi::IOCTL_SET_MODE | abi::IOCTL_PAN | abi::IOCTL_FLUSH => opened_for_writing(file),
        // FBIOPUT_VSCREENINFO decides once it knows whether the call only tests a mode.
        fbdev::FBIOPAN_DISPLAY => may_change_display_through_fbdev(file),
        _ => true,
    }
}

fn opened_for_writing(file: &File) -> bool {
    file.flags() & file::flags::O_ACCMODE != file::flags::O_RDONLY
}

/// See [`may_issue`]: fbdev's tools change the display through read-only files.
fn may_change_display_through_fbdev(file: &File) -> bool {
    opened_for_writing(file) || file.current_may_write()
}

/// The ioctls of a 32-bit process. Only `FBIOGET_FSCREENINFO` has a struct whose layout differs
/// (`unsigned long` fields); every other argument is made of fixed-size fields (the damage
/// struct carries its rectangle pointer as a `u64`), and a compat pointer is a plain address on
/// x86-64, so those take the native path.
#[cfg(CONFIG_COMPAT)]
fn compat_ioctl(card: ArcBorrow<'_, FbCard>, file: &File, cmd: u32, arg: usize) -> Result<isize> {
    match cmd {
        fbdev::FBIOGET_FSCREENINFO => {
            let (mode, _) = card.mode()?;
            let fix = fbdev::fix_bytes_compat(&mode);
            UserSlice::new(UserPtr::from_addr(arg), fix.len())
                .writer()
                .write_slice(&fix)?;
            Ok(0)
        }
        _ => <CardFile as MiscDevice>::ioctl(card, file, cmd, arg),
    }
}

/// `BOCHSFB_IOCTL_FLUSH`: copies the damaged rectangles of the shadow buffer into VRAM.
fn flush(card: &FbCard, user: &dyn Fn(usize) -> UserSlice) -> Result {
    let mut damage = [0u8; abi::DAMAGE_ABI_SIZE];
    user(damage.len()).reader().read_slice(&mut damage)?;
    let rects_ptr = abi::u64_at(&damage, offset_of!(BochsfbDamage, rects));
    let count = abi::u32_at(&damage, offset_of!(BochsfbDamage, count)) as usize;
    let flags = abi::u32_at(&damage, offset_of!(BochsfbDamage, flags));
    if flags != 0 || count > abi::MAX_DAMAGE_RECTS {
        return Err(EINVAL);
    }
    let (mode, _) = card.mode()?;
    let mut rects = KVec::with_capacity(count.max(1), GFP_KERNEL)?;
    if count == 0 {
        rects.push(Rect::full(&mode), GFP_KERNEL)?;
    } else {
        // `count` is the caller's, checked against the limit above; checked all the same.
        let len = count.checked_mul(abi::RECT_ABI_SIZE).ok_or(EINVAL)?;
        let mut raw = KVec::from_elem(0u8, len, GFP_KERNEL)?;
        let rects_addr = usize::try_from(rects_ptr).map_err(|_| EFAULT)?;
        UserSlice::new(UserPtr::from_addr(rects_addr), raw.len())
            .reader()
            .read_slice(&mut raw)?;
        for bytes in raw.chunks_exact(abi::RECT_ABI_SIZE) {
            rects.push(Rect::from_abi(bytes, &mode)?, GFP_KERNEL)?;
        }
        Rect::coalesce(&mut rects, &mode);
    }
    card.flush(&mode, &rects)
}
