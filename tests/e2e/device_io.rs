//! The read/write path and the mmap path see the same VRAM, and every bad input gets its
//! documented errno (docs/architecture.md) with nothing in the kernel log.

use anyhow::Result;
use bochsfb_tests::{run_ok, with_guest};

#[test]
fn write_then_mmap_and_mmap_then_read_round_trip() -> Result<()> {
    with_guest(&[], |vm| run_ok(vm, "bochsfb-check roundtrip").map(drop))
}

#[test]
fn bad_input_gets_documented_errnos() -> Result<()> {
    with_guest(&[], |vm| run_ok(vm, "bochsfb-check badinput").map(drop))
}

#[test]
fn sixteen_and_24_bpp_modes_are_set_and_reachable() -> Result<()> {
    for (bpp, stride) in [("16", 2048), ("24", 3072)] {
        with_guest(&[("bpp", bpp)], |vm| {
            let out = run_ok(vm, "bochsfb-check roundtrip")?;
            let expected = format!("1024x768 {bpp}bpp stride {stride}");
            anyhow::ensure!(
                out.output.contains(&expected),
                "GET_MODE did not report {expected}"
            );
            Ok(())
        })?;
    }
    Ok(())
}

#[test]
fn unbind_revokes_open_files_and_mappings_and_rebind_works() -> Result<()> {
    with_guest(&[], |vm| run_ok(vm, "bochsfb-check unbind").map(drop))
}

#[test]
fn nodes_belong_to_root_and_video_and_the_module_stays_while_a_file_is_open() -> Result<()> {
    use anyhow::ensure;
    with_guest(&[], |vm| {
        let perms = run_ok(vm, "stat -c '%a %U %G' /dev/bochsfb0")?;
        ensure!(
            perms.output.trim() == "660 root video",
            "node is {:?}",
            perms.output.trim()
        );
        let outsider = vm.run(
            "su -s /bin/sh nobody -c 'head -c 16 /dev/bochsfb0' 2>&1",
            bochsfb_tests::COMMAND_TIMEOUT,
        )?;
        ensure!(
            outsider.status != 0 && outsider.output.contains("Permission denied"),
            "a user outside the video group opened the device: {}",
            outsider.output
        );
        let member = run_ok(
            vm,
            "su -s /bin/sh video-user -c 'head -c 16 /dev/bochsfb0 | wc -c'",
        )?;
        ensure!(
            member.output.trim() == "16",
            "video member read {:?}",
            member.output.trim()
        );

        // An open file holds a reference on the module: rmmod must refuse, not pull it away.
        let held = run_ok(vm, "exec 3<>/dev/bochsfb0; rmmod bochsfb 2>&1; echo rc=$?")?;
        ensure!(
            held.output.contains("rc=1"),
            "rmmod with a file open: {}",
            held.output
        );
        run_ok(vm, "bochsfb-check roundtrip")?;
        // Closed again, it unloads, and loads again.
        run_ok(vm, "rmmod bochsfb && test ! -e /dev/bochsfb0")?;
        run_ok(
            vm,
            "insmod /lib/modules/bochsfb.ko && bochsfb-check roundtrip",
        )?;
        Ok(())
    })
}
