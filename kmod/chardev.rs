// SPDX-License-Identifier: GPL-2.0

//! `/dev/bochsfbN`: the character device of one card.
//!
//! Two ways to reach VRAM, as in LDD3 chapter 15:
//! - `mmap`: VRAM itself is mapped write-combined into the process; drawing is plain stores.
//! - `lseek` + `read`/`write` (and `pread`/`pwrite`): each call copies through a kernel bounce
//!   buffer into VRAM with `memcpy_toio`.
//!
//! Every open file holds an `Arc<Card>`. When the card is unbound its VRAM handle is revoked and
//! its user mappings are zapped (`user_mappings.rs`): calls on files still open fail with
//! `ENODEV`, and touching an old mapping raises `SIGBUS`.

use crate::{
    mode::{self, Mode},
    user_mappings::UserMappings,
    vram::Vram,
};
use kernel::{
    devres::Devres,
    fs::{File, Kiocb},
    iov::{IovIterDest, IovIterSource},
    miscdevice::{MiscDevice, MiscDeviceRegistration, SeekRequest},
    mm::virt::{flags, VmaNew},
    prelude::*,
    sync::{aref::ARef, Arc, ArcBorrow},
    uaccess::{UserPtr, UserSlice},
};

/// Bounce-buffer size for `read`/`write`: large enough that syscall overhead stays small,
/// small enough for a plain `kmalloc`.
const COPY_CHUNK: usize = 64 * 1024;

/// State shared by a card's driver data and every file open on it.
#[pin_data]
pub(crate) struct Card {
    pub(crate) mode: Mode,
    /// Bytes of VRAM that userspace can reach (mmap, read, write).
    pub(crate) vram_size: usize,
    /// Revoked when the card is unbound.
    pub(crate) vram: Devres<Vram>,
    pub(crate) dev: ARef<kernel::device::Device>,
    #[pin]
    pub(crate) user_mappings: UserMappings,
}

impl Card {
    /// How many bytes a transfer of `count` bytes at `pos` may move, bounded by VRAM.
    fn span(&self, pos: i64, count: usize) -> Result<usize> {
        let pos = usize::try_from(pos).map_err(|_| EINVAL)?;
        Ok(self.vram_size.saturating_sub(pos).min(count))
    }

    fn vram_gone(&self) -> Error {
        dev_dbg!(self.dev, "card was unbound; refusing access\n");
        ENODEV
    }

    /// `ENODEV` once the card has been unbound, for calls that do not touch VRAM themselves.
    fn check_bound(&self) -> Result {
        match self.vram.try_access() {
            Some(_) => Ok(()),
            None => Err(self.vram_gone()),
        }
    }
}

/// The file operations of `/dev/bochsfbN`. Each open file is just a reference to its card.
pub(crate) struct CardFile;

#[vtable]
impl MiscDevice for CardFile {
    type Ptr = Arc<Card>;
    type RegistrationData = Arc<Card>;

    fn open(file: &File, misc: &MiscDeviceRegistration<Self>) -> Result<Arc<Card>> {
        let card = misc.data().clone();
        card.user_mappings.attach(file)?;
        Ok(card)
    }

    fn llseek(card: ArcBorrow<'_, Card>, seek: SeekRequest<'_>) -> Result<i64> {
        card.check_bound()?;
        // Positions are VRAM offsets: 0..=vram_size, anything else is EINVAL.
        seek.fixed_size(i64::try_from(card.vram_size)?)
    }

    fn read_iter(mut kiocb: Kiocb<'_, Arc<Card>>, iov: &mut IovIterDest<'_>) -> Result<usize> {
        let card = kiocb.file();
        let pos = kiocb.ki_pos();
        let total = card.span(pos, iov.len())?;
        // `span` checked that `pos` is a valid, non-negative offset.
        let start = pos as usize;

        let mut bounce = KVec::from_elem(0u8, total.min(COPY_CHUNK), GFP_KERNEL)?;
        let mut done = 0;
        while done < total {
            let chunk = &mut bounce[..(total - done).min(COPY_CHUNK)];
            // Copy out of VRAM under the revocation guard, then to the user without it: the
            // guard is an RCU read-side section and copying to the user may fault and sleep.
            match card.vram.try_access() {
                Some(vram) => vram.read(start + done, chunk)?,
                None => return Err(card.vram_gone()),
            }
            let copied = iov.copy_to_iter(chunk);
            done += copied;
            if copied < chunk.len() {
                break;
            }
        }
        if done == 0 && total != 0 {
            return Err(EFAULT);
        }
        *kiocb.ki_pos_mut() += done as i64;
        Ok(done)
    }

    fn write_iter(mut kiocb: Kiocb<'_, Arc<Card>>, iov: &mut IovIterSource<'_>) -> Result<usize> {
        let card = kiocb.file();
        let pos = kiocb.ki_pos();
        let total = card.span(pos, iov.len())?;
        if total == 0 && !iov.is_empty() {
            // At or past the end of VRAM: no space left on the device, as fbdev does.
            return Err(ENOSPC);
        }
        let start = pos as usize;

        // Left uninitialised: every byte sent to VRAM was first copied in from the user.
        let mut bounce = KVec::<u8>::with_capacity(total.min(COPY_CHUNK), GFP_KERNEL)?;
        let mut done = 0;
        while done < total {
            let want = (total - done).min(COPY_CHUNK);
            // Copy from the user first (may fault and sleep), then into VRAM under the guard.
            let chunk = iov.copy_from_iter_raw(&mut bounce.spare_capacity_mut()[..want]);
            let copied = chunk.len();
            match card.vram.try_access() {
                Some(vram) => vram.write(start + done, chunk)?,
                None => return Err(card.vram_gone()),
            }
            done += copied;
            if copied < want {
                break;
            }
        }
        if done == 0 && total != 0 {
            return Err(EFAULT);
        }
        *kiocb.ki_pos_mut() += done as i64;
        Ok(done)
    }

    fn mmap(card: ArcBorrow<'_, Card>, _file: &File, vma: &VmaNew) -> Result {
        // A private mapping would give the process copy-on-write copies of device memory, which
        // is never what a framebuffer user wants (fbdev and DRM refuse it too).
        if vma.flags() & flags::MAYSHARE == 0 {
            return Err(EINVAL);
        }
        // VRAM holds pixels, never code.
        vma.try_clear_mayexec()?;

        let window = match card.vram.try_access() {
            Some(vram) => vram.user_window(),
            None => return Err(card.vram_gone()),
        };
        // Checks offset and length against VRAM (EINVAL past the end) and maps it, unless the
        // card was unbound meanwhile.
        card.user_mappings.map(vma, window)
    }

    fn ioctl(card: ArcBorrow<'_, Card>, _file: &File, cmd: u32, arg: usize) -> Result<isize> {
        card.check_bound()?;
        match cmd {
            mode::IOCTL_GET_MODE => {
                let bytes = mode::mode_abi_bytes(&card.mode, card.vram_size);
                UserSlice::new(UserPtr::from_addr(arg), bytes.len())
                    .writer()
                    .write_slice(&bytes)?;
                Ok(0)
            }
            _ => Err(ENOTTY),
        }
    }
}
