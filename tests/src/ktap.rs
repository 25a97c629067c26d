//! Reads KUnit's results (KTAP) out of the guest's kernel log.
//!
//! KUnit runs a module's `#[kunit_tests]` suites when the module loads and prints, per suite:
//!
//! ```text
//! [    1.68]     # Subtest: bochsfb_mode
//! [    1.69]     ok 1 virtual_height_0_asks_for_every_row_vram_holds
//! [    1.69]     not ok 2 a_rectangle_covers_one_byte_range_per_row
//! [    1.70] not ok 3 bochsfb_mode
//! ```

use qemu_bochs::vm::protocol::{ktap_result, KtapResult};

/// One suite's outcome.
#[derive(Debug, PartialEq, Eq)]
pub struct Suite {
    pub name: String,
    pub passed: bool,
    /// `(case, passed)` in the order they ran; skipped cases count as passed.
    pub cases: Vec<(String, bool)>,
}

/// The suites whose name starts with `prefix`, with their cases.
pub fn suites(log: &[String], prefix: &str) -> Vec<Suite> {
    let mut found = Vec::new();
    let mut cases = Vec::new();
    for line in log {
        match ktap_result(line) {
            Some(KtapResult {
                is_case: true,
                ok,
                name,
            }) => cases.push((name.to_string(), ok)),
            Some(KtapResult {
                is_case: false,
                ok,
                name,
            }) => {
                let suite_cases = std::mem::take(&mut cases);
                if name.starts_with(prefix) {
                    found.push(Suite {
                        name: name.to_string(),
                        passed: ok,
                        cases: suite_cases,
                    });
                }
            }
            None => {}
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(lines: &[&str]) -> Vec<String> {
        lines.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn suites_and_their_cases_are_read_from_the_log() {
        let log = log(&[
            "[    0.80] KTAP version 1",
            "[    0.80]     # Subtest: rust_kernel_fmt",
            "[    0.82]     ok 1 test_ptr_formatting",
            "[    0.82] ok 1 rust_kernel_fmt",
            "[    1.68]     # Subtest: bochsfb_card",
            "[    1.68]     ok 1 an_mmap_offset_names_its_region",
            "[    1.68] ok 1 bochsfb_card",
            "[    1.69]     # Subtest: bochsfb_mode",
            "[    1.69]     not ok 1 widths_are_multiples_of_8",
            "[    1.69]     ok 2 rows # SKIP needs more VRAM",
            "[    1.69] # bochsfb_mode: pass:0 fail:1 skip:1 total:2",
            "[    1.70] not ok 2 bochsfb_mode",
        ]);
        let found = suites(&log, "bochsfb_");
        assert_eq!(
            found,
            vec![
                Suite {
                    name: "bochsfb_card".into(),
                    passed: true,
                    cases: vec![("an_mmap_offset_names_its_region".into(), true)],
                },
                Suite {
                    name: "bochsfb_mode".into(),
                    passed: false,
                    cases: vec![
                        ("widths_are_multiples_of_8".into(), false),
                        ("rows".into(), true)
                    ],
                },
            ]
        );
    }
}
