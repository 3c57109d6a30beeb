//! Every checkov finding in `terraform/` is either fixed or skipped inline with its reason
//! (`#checkov:skip=<ID>:<reason>` inside the resource it excuses). `cargo xtask stack-check` runs checkov itself;
//! this test, which needs no checkov, keeps the skips honest: each names a check id and says why, and none is
//! passed on checkov's command line where no reader of the terraform would see it.

use std::path::{Path, PathBuf};

/// Shorter than this is a label, not a reason.
const MIN_REASON_CHARS: usize = 40;

fn tf_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("terraform/ is readable").flatten() {
        let path = entry.path();
        if path.is_dir() {
            tf_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "tf") {
            out.push(path);
        }
    }
}

/// `(file:line, check id, reason)` of every inline skip in `text`, or a complaint about a malformed one.
fn skips(file: &str, text: &str) -> Vec<Result<(String, String, String), String>> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let Some(at) = line.find("checkov:skip=") else { continue };
        let place = format!("{file}:{}", n + 1);
        let rest = &line[at + "checkov:skip=".len()..];
        let Some((id, reason)) = rest.split_once(':') else {
            out.push(Err(format!("{place}: `{}` has no `:<reason>`", line.trim())));
            continue;
        };
        let id_ok = (id.starts_with("CKV_AWS_") || id.starts_with("CKV2_AWS_"))
            && id
                .rsplit('_')
                .next()
                .is_some_and(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()));
        if !id_ok {
            out.push(Err(format!("{place}: `{id}` is not a checkov check id")));
        } else if reason.trim().chars().count() < MIN_REASON_CHARS {
            out.push(Err(format!(
                "{place}: the reason for {id} is too short to explain anything: `{}`",
                reason.trim()
            )));
        } else {
            out.push(Ok((place, id.to_string(), reason.trim().to_string())));
        }
    }
    out
}

#[test]
fn every_checkov_skip_names_a_check_and_gives_its_reason() {
    let root = xtask::workspace_root();
    let mut files = Vec::new();
    tf_files(&root.join("terraform"), &mut files);
    assert!(!files.is_empty(), "no .tf files under terraform/");
    let mut found = 0;
    let mut problems = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.strip_prefix(&root).unwrap().display().to_string();
        for skip in skips(&name, &text) {
            match skip {
                Ok(_) => found += 1,
                Err(p) => problems.push(p),
            }
        }
    }
    assert!(
        problems.is_empty(),
        "checkov skips without a proper reason:\n{}",
        problems.join("\n")
    );
    assert!(found > 0, "no inline checkov skips found: has the syntax changed?");
}

#[test]
fn checkov_is_never_told_to_skip_a_check_from_its_command_line() {
    let source = std::fs::read_to_string(xtask::workspace_root().join("xtask/src/stack_check.rs")).unwrap();
    for flag in ["--skip-check", "--soft-fail", "--skip-framework"] {
        assert!(
            !source.contains(flag),
            "stack_check.rs passes {flag} to checkov: skip inline, with a reason"
        );
    }
}

#[test]
fn the_skip_parser_refuses_bare_and_short_skips() {
    let text = "  #checkov:skip=CKV_AWS_1\n  #checkov:skip=CKV_AWS_2:too short\n  #checkov:skip=WHATEVER:a reason long enough to pass the length rule here\n  #checkov:skip=CKV2_AWS_3:A read replica keeps no backups; the primary's are the recovery point.\n";
    let got = skips("t.tf", text);
    assert_eq!(got.len(), 4);
    assert!(got[0].as_ref().is_err_and(|e| e.contains("no `:<reason>`")));
    assert!(got[1].as_ref().is_err_and(|e| e.contains("too short")));
    assert!(got[2].as_ref().is_err_and(|e| e.contains("not a checkov check id")));
    assert!(got[3]
        .as_ref()
        .is_ok_and(|(place, id, _)| place == "t.tf:4" && id == "CKV2_AWS_3"));
}
