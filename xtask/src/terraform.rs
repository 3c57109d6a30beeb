//! terraform, the one prerequisite xtask cannot install from a package registry, and the AWS provider it needs.
//!
//! This module owns where the provider comes from (the mirror in `NIAGA_TF_PLUGIN_DIR`, default `/opt/tf-plugins`,
//! read exactly as the `terraform/tf` wrapper reads it) and [`require`], the check every command that runs terraform
//! makes before it compiles anything, so a missing terraform stops a fresh clone in a second with the commands that
//! install it rather than after minutes of building.

use crate::services::{self, step};
use anyhow::{bail, Context, Result};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The provider mirror when `NIAGA_TF_PLUGIN_DIR` is unset or empty.
pub const DEFAULT_PLUGIN_DIR: &str = "/opt/tf-plugins";

/// Where the provider mirror is: `NIAGA_TF_PLUGIN_DIR`, else [`DEFAULT_PLUGIN_DIR`].
pub fn plugin_dir() -> PathBuf {
    plugin_dir_from(std::env::var_os("NIAGA_TF_PLUGIN_DIR"))
}

/// The provider mirror for a value of `NIAGA_TF_PLUGIN_DIR`, read as `terraform/tf` reads it
/// (`${NIAGA_TF_PLUGIN_DIR:-/opt/tf-plugins}`: unset or empty means the default).
pub fn plugin_dir_from(value: Option<OsString>) -> PathBuf {
    value
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_PLUGIN_DIR))
}

/// `-plugin-dir=<mirror>` for `terraform init` when the mirror exists (offline machines), else nothing: init then
/// downloads the provider from the registry.
pub fn plugin_dir_arg() -> Option<String> {
    let dir = plugin_dir();
    dir.is_dir().then(|| format!("-plugin-dir={}", dir.display()))
}

/// The version of `hashicorp/aws` that `terraform/compute/.terraform.lock.hcl` pins (every layer pins the same).
pub fn locked_aws_provider() -> Result<String> {
    let lock = crate::workspace_root().join("terraform/compute/.terraform.lock.hcl");
    let text = std::fs::read_to_string(&lock).with_context(|| format!("reading {}", lock.display()))?;
    locked_version(&text, "registry.terraform.io/hashicorp/aws")
        .with_context(|| format!("{} pins no hashicorp/aws provider", lock.display()))
}

/// The `version = "..."` of `provider "<source>" { ... }` in a lock file's text.
fn locked_version(lock: &str, source: &str) -> Option<String> {
    let header = format!("provider \"{source}\"");
    let block = &lock[lock.find(&header)? + header.len()..];
    let block = &block[..block.find("\n}").unwrap_or(block.len())];
    block.lines().find_map(|line| {
        let value = line.trim().strip_prefix("version")?.trim_start().strip_prefix('=')?;
        Some(value.trim().trim_matches('"').to_string())
    })
}

/// Whether a `-plugin-dir` mirror holds `hashicorp/aws` `version` for `platform` (`linux_amd64`), in either layout
/// terraform reads: unpacked (`.../aws/<version>/<platform>/`) or packed (`terraform providers mirror`'s zips).
fn mirror_has(dir: &Path, version: &str, platform: &str) -> bool {
    let aws = dir.join("registry.terraform.io/hashicorp/aws");
    aws.join(version).join(platform).is_dir()
        || aws
            .join(format!("terraform-provider-aws_{version}_{platform}.zip"))
            .is_file()
}

/// How to install terraform on Debian or Ubuntu, from HashiCorp's apt repository.
const INSTALL_TERRAFORM: &str = "\
terraform is not installed (or not on PATH). It is the one tool the Niaga commands cannot install themselves;
on Debian or Ubuntu, install it from HashiCorp's apt repository:

  sudo apt-get update && sudo apt-get install -y gnupg wget lsb-release
  wget -O- https://apt.releases.hashicorp.com/gpg | sudo gpg --dearmor -o /usr/share/keyrings/hashicorp-archive-keyring.gpg
  echo \"deb [signed-by=/usr/share/keyrings/hashicorp-archive-keyring.gpg] https://apt.releases.hashicorp.com $(lsb_release -cs) main\" \\
    | sudo tee /etc/apt/sources.list.d/hashicorp.list
  sudo apt-get update && sudo apt-get install -y terraform

(other systems: https://developer.hashicorp.com/terraform/install). terraform 1.10 or newer is needed.";

/// Checks that terraform is on PATH and that `terraform init` can get the AWS provider the lock files pin, and
/// stops with the commands that install what is missing. With a mirror (`NIAGA_TF_PLUGIN_DIR`) the provider must
/// be in it, because init then looks nowhere else; without one, init downloads it.
pub fn require() -> Result<()> {
    static CHECKED: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    if CHECKED.get().is_some() {
        return Ok(());
    }
    check(&plugin_dir())?;
    let _ = CHECKED.set(());
    Ok(())
}

fn check(dir: &Path) -> Result<()> {
    let Some(exe) = services::which("terraform") else {
        bail!("{INSTALL_TERRAFORM}");
    };
    let out = services::run(Command::new(&exe).args(["version", "-json"]), "terraform version")?;
    let version: serde_json::Value = serde_json::from_str(&out).context("terraform version -json is not JSON")?;
    let (tf, platform) = (
        version["terraform_version"].as_str().unwrap_or("?"),
        version["platform"].as_str().unwrap_or("linux_amd64"),
    );
    let provider = locked_aws_provider()?;
    if !dir.is_dir() {
        step(format!(
            "terraform {tf}; no provider mirror at {} (NIAGA_TF_PLUGIN_DIR), so `terraform init` will download \
             hashicorp/aws {provider} from registry.terraform.io",
            dir.display()
        ));
        return Ok(());
    }
    if !mirror_has(dir, &provider, platform) {
        bail!(
            "the provider mirror {} (NIAGA_TF_PLUGIN_DIR) has no hashicorp/aws {provider} for {platform}, the version \
             terraform/*/.terraform.lock.hcl pins, and `terraform init -plugin-dir` looks nowhere else. Either fill \
             the mirror (on a machine that reaches registry.terraform.io):\n\n  \
             terraform -chdir=terraform/compute providers mirror -platform={platform} {}\n\n\
             or point NIAGA_TF_PLUGIN_DIR at a folder that does not exist, and init will download the provider.",
            dir.display(),
            dir.display()
        );
    }
    step(format!(
        "terraform {tf}, hashicorp/aws {provider} from the mirror {}",
        dir.display()
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_locked_provider_version_is_read_from_its_own_block() {
        let lock = "provider \"registry.terraform.io/hashicorp/random\" {\n  version = \"3.6.0\"\n}\n\n\
                    provider \"registry.terraform.io/hashicorp/aws\" {\n  version     = \"5.100.0\"\n  \
                    constraints = \"~> 5.100\"\n}\n";
        assert_eq!(
            locked_version(lock, "registry.terraform.io/hashicorp/aws").as_deref(),
            Some("5.100.0")
        );
        assert_eq!(locked_version(lock, "registry.terraform.io/hashicorp/null"), None);
    }

    #[test]
    fn every_layer_locks_the_same_aws_provider() {
        let expected = locked_aws_provider().unwrap();
        for layer in ["network", "persistence", "compute", "observability"] {
            let path = crate::workspace_root().join(format!("terraform/{layer}/.terraform.lock.hcl"));
            let text = std::fs::read_to_string(&path).unwrap();
            assert_eq!(
                locked_version(&text, "registry.terraform.io/hashicorp/aws").as_deref(),
                Some(expected.as_str()),
                "{layer}"
            );
        }
    }

    #[test]
    fn a_mirror_is_recognised_in_both_of_terraforms_layouts() {
        let root = std::env::temp_dir().join(format!("niaga-mirror-{}", std::process::id()));
        let aws = root.join("registry.terraform.io/hashicorp/aws");
        std::fs::create_dir_all(aws.join("5.100.0/linux_amd64")).unwrap();
        assert!(mirror_has(&root, "5.100.0", "linux_amd64"));
        assert!(!mirror_has(&root, "5.99.0", "linux_amd64"));
        assert!(!mirror_has(&root, "5.100.0", "linux_arm64"));
        std::fs::write(aws.join("terraform-provider-aws_5.99.0_linux_amd64.zip"), b"").unwrap();
        assert!(mirror_has(&root, "5.99.0", "linux_amd64"));
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_mirror_without_the_locked_provider_stops_with_the_command_that_fills_it() {
        let empty = std::env::temp_dir().join(format!("niaga-empty-mirror-{}", std::process::id()));
        std::fs::create_dir_all(&empty).unwrap();
        let err = format!("{:#}", check(&empty).unwrap_err());
        std::fs::remove_dir_all(&empty).unwrap();
        assert!(err.contains(&locked_aws_provider().unwrap()), "{err}");
        assert!(err.contains("providers mirror"), "{err}");
        // No mirror at all: init downloads the provider, so that is no reason to stop.
        check(&empty.join("absent")).unwrap();
    }
}
