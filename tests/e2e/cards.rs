//! Several cards at once (std VGA, secondary-vga, bochs-display), each its own /dev/bochsfbN
//! with its EDID mode, its own screen and its own lifetime; a card without MMIO is refused.

use anyhow::{ensure, Result};
use bochsfb_renderer::Mode;
use bochsfb_tests::{
    assert_testcard, load_png, run_ok, with_guest_config, COMMAND_TIMEOUT, TESTCARD,
};
use qemu_bochs::{paths, VmConfig};

/// One emulated card and what the guest should make of it.
struct Card {
    /// QEMU's qdev id (empty for the first VGA, which has none).
    id: &'static str,
    /// The QEMU device.
    device: &'static str,
    node: &'static str,
    /// The card name in sysfs.
    sysfs_name: &'static str,
    /// The mode its EDID prefers.
    edid_mode: (u32, u32),
}

/// In PCI slot order.
const CARDS: [Card; 3] = [
    Card {
        id: "",
        device: "VGA",
        node: "/dev/bochsfb0",
        sysfs_name: "std-vga",
        edid_mode: (1024, 768),
    },
    Card {
        id: "card1",
        device: "secondary-vga",
        node: "/dev/bochsfb1",
        sysfs_name: "secondary-vga",
        edid_mode: (800, 600),
    },
    Card {
        id: "card2",
        device: "bochs-display",
        node: "/dev/bochsfb2",
        sysfs_name: "bochs-display",
        edid_mode: (640, 480),
    },
];

fn three_cards() -> VmConfig {
    let mut config = VmConfig::default();
    for Card {
        id,
        device,
        edid_mode: (xres, yres),
        ..
    } in &CARDS[1..]
    {
        config.extra_qemu_args.push("-device".into());
        config
            .extra_qemu_args
            .push(format!("{device},id={id},xres={xres},yres={yres}"));
    }
    config
}

#[test]
fn three_cards_each_get_a_node_their_edid_mode_and_their_own_screen() -> Result<()> {
    with_guest_config(&three_cards(), |vm| {
        for Card {
            id,
            node,
            sysfs_name: card,
            edid_mode: (w, h),
            ..
        } in CARDS
        {
            let name = node.trim_start_matches("/dev/");
            let out = run_ok(
                vm,
                &format!("cat /sys/class/misc/{name}/card /sys/class/misc/{name}/mode"),
            )?;
            let expected = format!("{card}\n{w}x{h}-32");
            ensure!(
                out.output.contains(&expected),
                "{name}: expected {expected:?} in {:?}",
                out.output
            );

            run_ok(vm, &format!("{TESTCARD} --backend mmap --device {node}"))?;
            let shot = paths::out_dir()
                .join("screenshots")
                .join(format!("cards-{name}.png"));
            vm.screendump_of(&shot, (!id.is_empty()).then_some(id))?;
            assert_testcard(&load_png(&shot)?, Mode::xrgb8888(w, h))?;
        }

        // bochs-display scans out 16 and 32 bpp only.
        for (bpp, accepted) in [(8, false), (16, true), (24, false), (32, true)] {
            let out = vm.run(
                &format!("bochsfb-check set-mode --device /dev/bochsfb2 640 480 {bpp}"),
                COMMAND_TIMEOUT,
            )?;
            println!("{}", out.output);
            let ok = out.status == 0 && out.output.contains(&format!("mode 640x480-{bpp}"));
            let refused = out.status != 0 && out.output.contains("refused EINVAL");
            ensure!(
                if accepted { ok } else { refused },
                "bochs-display {bpp} bpp: {}",
                out.output
            );
        }

        // Unbinding the secondary card leaves the others working; binding it again restores it.
        // Cards bind in PCI slot order, so the second bound device is the secondary card.
        let pci = run_ok(
            vm,
            "ls /sys/bus/pci/drivers/bochsfb | grep '^0000:' | sed -n 2p",
        )?
        .output;
        let pci = pci.trim();
        run_ok(
            vm,
            &format!("echo {pci} > /sys/bus/pci/drivers/bochsfb/unbind"),
        )?;
        let gone = vm.run("test -e /dev/bochsfb1", COMMAND_TIMEOUT)?;
        ensure!(
            gone.status != 0,
            "/dev/bochsfb1 still exists after unbinding {pci}"
        );
        run_ok(vm, "bochsfb-check roundtrip --device /dev/bochsfb0")?;
        run_ok(vm, "bochsfb-check roundtrip --device /dev/bochsfb2")?;
        run_ok(
            vm,
            &format!("echo {pci} > /sys/bus/pci/drivers/bochsfb/bind"),
        )?;
        run_ok(vm, "bochsfb-check roundtrip --device /dev/bochsfb1")?;
        Ok(())
    })
}

#[test]
fn a_card_without_mmio_registers_is_refused_with_a_clear_message() -> Result<()> {
    let config = VmConfig {
        card: "VGA,mmio=off".into(),
        extra_qemu_args: vec!["-device".into(), "secondary-vga".into()],
        ..VmConfig::default()
    };
    with_guest_config(&config, |vm| {
        let cards = run_ok(vm, "cat /sys/class/misc/bochsfb*/card")?;
        ensure!(
            cards.output.trim() == "secondary-vga",
            "expected only the secondary card to bind, got {:?}",
            cards.output
        );
        let log = vm.console_lines().join("\n");
        ensure!(
            log.contains("no MMIO registers in BAR2"),
            "no clear message in:\n{log}"
        );
        Ok(())
    })
}

/// Issue #11, hole 5: with a firmware framebuffer on the card (vesafb, after a VBE mode set at
/// boot with `vga=`), bochsfb takes the card over: vesafb is gone and bochsfb works.
#[test]
fn bochsfb_takes_the_card_over_from_the_firmware_framebuffer() -> Result<()> {
    let config = VmConfig {
        // VBE mode 0x317: 1024x768, 16 bpp (QEMU's loader passes vga= to the boot code).
        kernel_args: vec!["vga=0x317".into()],
        ..VmConfig::default()
    };
    with_guest_config(&config, |vm| {
        let log = vm.console_lines().join("\n");
        ensure!(
            log.contains("VESA VGA frame buffer device"),
            "vesafb did not come up at boot, so nothing was taken over:\n{log}"
        );
        let fbs = run_ok(vm, "cat /proc/fb; ls /dev/fb* 2>/dev/null; true")?;
        ensure!(
            !fbs.output.contains("VESA"),
            "vesafb is still registered: {:?}",
            fbs.output
        );
        run_ok(
            vm,
            "cat /sys/class/misc/bochsfb0/card && bochsfb-check roundtrip",
        )?;
        run_ok(vm, &format!("{TESTCARD} --backend mmap"))?;
        let shot = paths::out_dir()
            .join("screenshots")
            .join("takeover-testcard.png");
        vm.screendump(&shot)?;
        assert_testcard(&load_png(&shot)?, Mode::xrgb8888(1024, 768))
    })
}

/// Issue #11, hole 5: under `nomodeset` only the firmware's framebuffer may drive the display;
/// bochsfb refuses to bind and says why.
#[test]
fn bochsfb_refuses_to_bind_under_nomodeset() -> Result<()> {
    let config = VmConfig {
        kernel_args: vec!["nomodeset".into()],
        ..VmConfig::default()
    };
    with_guest_config(&config, |vm| {
        let node = vm.run("test -e /dev/bochsfb0", COMMAND_TIMEOUT)?;
        ensure!(node.status != 0, "/dev/bochsfb0 exists under nomodeset");
        let log = vm.console_lines().join("\n");
        ensure!(
            log.contains("nomodeset: leaving the display"),
            "no clear message in:\n{log}"
        );
        Ok(())
    })
}
