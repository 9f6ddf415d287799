//! `lkm client` against `lkm serve --dev`, as an operator or a boot script
//! would use them: create, register, locate, get, get-attributes,
//! activate, revoke, destroy.

mod common;

use std::path::Path;
use std::process::Command;

fn client(data: &Path, port: u16, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(common::lkm_binary())
        .args([
            "client",
            "--server",
            &format!("127.0.0.1:{port}"),
            "--certs",
        ])
        .arg(data.join("certs"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        String::from_utf8_lossy(&out.stderr).trim().to_owned(),
    )
}

fn ok(data: &Path, port: u16, args: &[&str]) -> String {
    let (success, out, err) = client(data, port, args);
    assert!(success, "lkm client {args:?} failed: {err}");
    out
}

#[tokio::test]
async fn an_operator_drives_a_key_through_its_life() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = common::free_port();
    let _server = common::spawn_dev(&data, port).await;

    // A drive's authentication key, registered the 1.4 way, fetched back at "boot".
    let drive = ok(
        &data,
        port,
        &[
            "--kmip-version",
            "1.4",
            "register",
            "--kind",
            "secret-data",
            "--value-hex",
            "00112233445566778899aabbccddeeff",
            "--name",
            "drive-17",
            "--group",
            "array-a",
            "--attr",
            "x-Serial=WX41A",
        ],
    );
    assert_eq!(ok(&data, port, &["locate", "--name", "drive-17"]), drive);
    assert_eq!(
        ok(
            &data,
            port,
            &["--kmip-version", "1.2", "locate", "--group", "array-a"]
        ),
        drive
    );
    assert_eq!(
        ok(&data, port, &["locate", "--attr", "x-Serial=WX41A"]),
        drive
    );
    assert_eq!(
        ok(&data, port, &["get", &drive]),
        "00112233445566778899aabbccddeeff"
    );

    let key = ok(
        &data,
        port,
        &[
            "create",
            "--algorithm",
            "AES",
            "--length",
            "256",
            "--name",
            "vm-7",
            "--usage",
            "Encrypt Decrypt",
        ],
    );
    assert_eq!(
        ok(&data, port, &["get", &key]).len(),
        64,
        "an AES-256 key in hex"
    );
    let attrs = ok(
        &data,
        port,
        &[
            "--format",
            "json",
            "get-attributes",
            &key,
            "--attr",
            "State",
            "--attr",
            "Cryptographic Length",
        ],
    );
    assert!(
        attrs.contains("\"PreActive\"") && attrs.contains("256"),
        "{attrs}"
    );
    ok(&data, port, &["activate", &key]);
    assert_eq!(ok(&data, port, &["locate", "--state", "Active"]), key);
    ok(&data, port, &["revoke", &key, "--reason", "KeyCompromise"]);
    ok(&data, port, &["destroy", &key]);
    let (success, _, err) = client(&data, port, &["get", &key]);
    assert!(!success && err.contains("ObjectDestroyed"), "{err}");
    let attrs = ok(&data, port, &["get-attributes", &key, "--attr", "State"]);
    assert!(attrs.contains("DestroyedCompromised"), "{attrs}");
}

/// `lkm init` refuses a threshold of 1 with several shares (each share
/// would be the master key), and makes 2 of 2 the default for 2 shares.
#[test]
fn init_refuses_threshold_one_of_several_and_defaults_to_two_of_two() {
    let dir = tempfile::tempdir().unwrap();
    let init = |data: &str, out: &str, extra: &[&str]| {
        Command::new(common::lkm_binary())
            .arg("init")
            .arg("--data")
            .arg(dir.path().join(data))
            .arg("--share-out")
            .arg(dir.path().join(out))
            .args(extra)
            .output()
            .unwrap()
    };
    let refused = init("a", "a-shares", &["--shares", "3", "--threshold", "1"]);
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("threshold 1 of 3"), "{err}");
    assert!(!dir.path().join("a-shares").exists());

    let two = init("b", "b-shares", &["--shares", "2"]);
    let out = String::from_utf8_lossy(&two.stdout);
    assert!(
        two.status.success(),
        "{}",
        String::from_utf8_lossy(&two.stderr)
    );
    assert!(out.contains("2 shares, any 2 unseal it"), "{out}");
    let written = std::fs::read_dir(dir.path().join("b-shares"))
        .unwrap()
        .count();
    assert_eq!(written, 2);
}
