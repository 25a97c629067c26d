//! Several cards at once (std VGA, secondary-vga, bochs-display), each its own /dev/bochsfbN
//! with its EDID mode, its own screen and its own lifetime; a card without MMIO is refused.

use anyhow::{ensure, Result};
use bochsfb_renderer::Mode;
use bochsfb_tests::{assert_same_pixels, expected_testcard, load_png, run_ok, with_guest_config, COMMAND_TIMEOUT};
use qemu_bochs::{paths, VmConfig};

/// `(qdev id, QEMU device, node, sysfs card name, EDID mode)`, in PCI slot order.
const CARDS: [(&str, &str, &str, &str, (u32, u32)); 3] = [
    ("", "VGA", "/dev/bochsfb0", "std-vga", (1024, 768)),
    ("card1", "secondary-vga", "/dev/bochsfb1", "secondary-vga", (800, 600)),
    ("card2", "bochs-display", "/dev/bochsfb2", "bochs-display", (640, 480)),
];

fn three_cards() -> VmConfig {
    let mut config = VmConfig::default();
    for (id, device, _, _, (xres, yres)) in &CARDS[1..] {
        config.extra_qemu_args.push("-device".into());
        config.extra_qemu_args.push(format!("{device},id={id},xres={xres},yres={yres}"));
    }
    config
}

#[test]
fn three_cards_each_get_a_node_their_edid_mode_and_their_own_screen() -> Result<()> {
    with_guest_config(&three_cards(), |vm| {
        for (id, _, node, card, (w, h)) in CARDS {
            let name = node.trim_start_matches("/dev/");
            let out = run_ok(vm, &format!("cat /sys/class/misc/{name}/card /sys/class/misc/{name}/mode"))?;
            let expected = format!("{card}\n{w}x{h}-32");
            ensure!(out.output.contains(&expected), "{name}: expected {expected:?} in {:?}", out.output);

            run_ok(vm, &format!("testcard --device {node}"))?;
            let shot = paths::out_dir().join("screenshots").join(format!("cards-{name}.png"));
            vm.screendump_of(&shot, (!id.is_empty()).then_some(id))?;
            assert_same_pixels(&load_png(&shot)?, &expected_testcard(Mode::xrgb8888(w, h)))?;
        }

        // bochs-display scans out 16 and 32 bpp only.
        for (bpp, accepted) in [(8, false), (16, true), (24, false), (32, true)] {
            let out = vm.run(&format!("bochsfb-check set-mode --device /dev/bochsfb2 640 480 {bpp}"), COMMAND_TIMEOUT)?;
            println!("{}", out.output);
            let ok = out.status == 0 && out.output.contains(&format!("mode 640x480-{bpp}"));
            let refused = out.status != 0 && out.output.contains("refused EINVAL");
            ensure!(if accepted { ok } else { refused }, "bochs-display {bpp} bpp: {}", out.output);
        }

        // Unbinding the secondary card leaves the others working; binding it again restores it.
        // Cards bind in PCI slot order, so the second bound device is the secondary card.
        let pci = run_ok(vm, "ls /sys/bus/pci/drivers/bochsfb | grep '^0000:' | sed -n 2p")?.output;
        let pci = pci.trim();
        run_ok(vm, &format!("echo {pci} > /sys/bus/pci/drivers/bochsfb/unbind"))?;
        let gone = vm.run("test -e /dev/bochsfb1", COMMAND_TIMEOUT)?;
        ensure!(gone.status != 0, "/dev/bochsfb1 still exists after unbinding {pci}");
        run_ok(vm, "bochsfb-check roundtrip --device /dev/bochsfb0")?;
        run_ok(vm, "bochsfb-check roundtrip --device /dev/bochsfb2")?;
        run_ok(vm, &format!("echo {pci} > /sys/bus/pci/drivers/bochsfb/bind"))?;
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
        ensure!(log.contains("no MMIO registers in BAR2"), "no clear message in:\n{log}");
        Ok(())
    })
}
