//! A secret scan of the tree: no file git tracks may hold a credential that works somewhere. The local stack's
//! values (the dev password, test signing keys, the emulator's `test` keys) are throwaway by design and live in
//! code the README names; what this looks for is the shape of real ones.

use std::process::Command;

/// What a leaked credential looks like, and why it matters.
fn findings(text: &str) -> Vec<&'static str> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    // AWS access key ids: AKIA/ASIA followed by 16 upper-case letters or digits.
    for prefix in ["AKIA", "ASIA"] {
        for (i, _) in text.match_indices(prefix) {
            let rest = &bytes[i + 4..];
            if rest.len() >= 16 && rest[..16].iter().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()) {
                out.push("an AWS access key id");
            }
        }
    }
    // Needles are assembled, so this file does not match itself.
    let (begin, private_key) = (["-----", "BEGIN"].concat(), [" PRIVATE", " KEY-----"].concat());
    if text.contains(&begin) && text.contains(&private_key) {
        out.push("a private key");
    }
    for (prefix, what) in [
        ("ghp_", "a GitHub token"),
        ("github_pat_", "a GitHub token"),
        ("xoxb-", "a Slack token"),
    ] {
        for (i, _) in text.match_indices(prefix) {
            let rest = &bytes[i + prefix.len()..];
            if rest.len() >= 20 && rest[..20].iter().all(u8::is_ascii_alphanumeric) {
                out.push(what);
            }
        }
    }
    // Midtrans production server keys (sandbox keys start SB-Mid-server-).
    let midtrans = ["Mid", "-server-"].concat();
    if text.match_indices(&midtrans).any(|(i, _)| !text[..i].ends_with("SB-")) {
        out.push("a Midtrans production server key");
    }
    out
}

#[test]
fn the_scanner_finds_the_shapes_it_looks_for() {
    // Assembled at run time so the scan of this file does not find them.
    let key = format!("{}{}", "AKIA", "Q3EXAMPLE7KEY1234");
    assert_eq!(
        findings(&format!("aws_access_key_id = {key}")),
        ["an AWS access key id"]
    );
    let pem = format!(
        "{}{} RSA{}\nMIIB...",
        "-----",
        "BEGIN",
        [" PRIVATE", " KEY-----"].concat()
    );
    assert_eq!(findings(&pem), ["a private key"]);
    assert_eq!(
        findings(&format!("token: {}{}", "ghp_", "a".repeat(36))),
        ["a GitHub token"]
    );
    assert_eq!(
        findings(&format!("{}-{}", "Mid", "server-abc")),
        ["a Midtrans production server key"]
    );
    assert!(findings(&format!(
        "SB-{} and AKIA-not-a-key and test/test",
        ["Mid", "-server-e2e"].concat()
    ))
    .is_empty());
}

#[test]
fn no_tracked_file_holds_a_credential() {
    let root = xtask::workspace_root();
    let out = Command::new("git")
        .arg("-C")
        .arg(&root)
        .args(["ls-files", "-z"])
        .output()
        .expect("git lists the tracked files");
    assert!(out.status.success(), "git ls-files failed");
    let files: Vec<String> = out
        .stdout
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    assert!(files.len() > 100, "the scan sees the tree ({} files)", files.len());
    let mut leaks = Vec::new();
    for file in &files {
        let Ok(text) = std::fs::read_to_string(root.join(file)) else {
            continue;
        };
        for what in findings(&text) {
            leaks.push(format!("{file}: {what}"));
        }
    }
    assert!(leaks.is_empty(), "credentials in the tree:\n{}", leaks.join("\n"));
    assert!(
        !files
            .iter()
            .any(|f| f.starts_with(".niaga/") || f.ends_with(".tfstate") || f.ends_with(".env")),
        "local state, terraform state and env files are never tracked"
    );
}
