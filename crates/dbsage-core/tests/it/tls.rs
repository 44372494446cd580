//! TLS through rustls against a real server with generated certificates.

use dbsage_cluster::{Cluster, ClusterOptions, RunAs};
use dbsage_core::connect::ConnectSpec;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};

struct Pki {
    dir: tempfile::TempDir,
}

fn ca(name: &str) -> (rcgen::Certificate, KeyPair) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let key = KeyPair::generate().unwrap();
    (params.self_signed(&key).unwrap(), key)
}

/// A CA, a server certificate for localhost/127.0.0.1 signed by it, and an unrelated CA.
fn pki() -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let (ca_cert, ca_key) = ca("dbsage test CA");
    let (other_ca, _) = ca("some other CA");
    let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params
        .subject_alt_names
        .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &ca_cert, &ca_key).unwrap();
    std::fs::write(dir.path().join("ca.pem"), ca_cert.pem()).unwrap();
    std::fs::write(dir.path().join("other-ca.pem"), other_ca.pem()).unwrap();
    std::fs::write(dir.path().join("server.crt"), cert.pem()).unwrap();
    let key_path = dir.path().join("server.key");
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    if let Some(r) = RunAs::detect().unwrap() {
        for f in ["server.crt", "server.key"] {
            std::os::unix::fs::chown(dir.path().join(f), Some(r.uid), Some(r.gid)).unwrap();
        }
    }
    Pki { dir }
}

fn tls_cluster(pki: &Pki) -> Cluster {
    let p = |f: &str| pki.dir.path().join(f).display().to_string();
    Cluster::start_with(&ClusterOptions {
        settings: vec![
            ("ssl".into(), "on".into()),
            ("ssl_cert_file".into(), p("server.crt")),
            ("ssl_key_file".into(), p("server.key")),
        ],
        ..Default::default()
    })
    .unwrap()
}

fn uses_tls(url: &str) -> Result<bool, dbsage_core::Error> {
    let mut client = ConnectSpec::parse(url)?.connect()?;
    Ok(client
        .query_one(
            "select ssl from pg_stat_ssl where pid = pg_backend_pid()",
            &[],
        )
        .unwrap()
        .get(0))
}

#[test]
fn sslmodes_behave_like_libpq() {
    let pki = pki();
    let cluster = tls_cluster(&pki);
    let port = cluster.port();
    let pw = cluster.password();
    let ca = pki.dir.path().join("ca.pem").display().to_string();
    let other = pki.dir.path().join("other-ca.pem").display().to_string();
    assert!(!uses_tls(&format!(
        "postgresql://postgres:{pw}@127.0.0.1:{port}/postgres?sslmode=disable"
    ))
    .unwrap());
    assert!(uses_tls(&format!(
        "postgresql://postgres:{pw}@127.0.0.1:{port}/postgres?sslmode=prefer"
    ))
    .unwrap());
    assert!(uses_tls(&format!(
        "postgresql://postgres:{pw}@127.0.0.1:{port}/postgres?sslmode=require"
    ))
    .unwrap());
    assert!(uses_tls(&format!(
        "postgresql://postgres:{pw}@localhost:{port}/postgres?sslmode=verify-full&sslrootcert={ca}"
    ))
    .unwrap());
    assert!(uses_tls(&format!(
        "postgresql://postgres:{pw}@127.0.0.1:{port}/postgres?sslmode=verify-ca&sslrootcert={ca}"
    ))
    .unwrap());
    let err = uses_tls(&format!(
        "postgresql://postgres:{pw}@localhost:{port}/postgres?sslmode=verify-full&sslrootcert={other}"
    ))
    .unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(
        err.to_string().contains(&format!("localhost:{port}")),
        "{err}"
    );
}

#[test]
fn require_fails_against_a_server_without_tls() {
    let cluster = Cluster::start().unwrap();
    let pw = cluster.password();
    let err = uses_tls(&format!(
        "postgresql://postgres:{pw}@127.0.0.1:{}/postgres?sslmode=require",
        cluster.port()
    ))
    .unwrap_err();
    assert_eq!(err.exit_code(), 2, "{err}");
    assert!(uses_tls(&format!(
        "postgresql://postgres:{pw}@127.0.0.1:{}/postgres?sslmode=prefer",
        cluster.port()
    ))
    .is_ok());
}

#[test]
fn wrong_password_is_a_clear_error_that_hides_the_password() {
    let dir = tempfile::tempdir().unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let hba = dir.path().join("pg_hba.conf");
    std::fs::write(
        &hba,
        "local all all trust\nhost all postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n",
    )
    .unwrap();
    std::fs::set_permissions(&hba, std::fs::Permissions::from_mode(0o644)).unwrap();
    let cluster = Cluster::start_with(&ClusterOptions {
        settings: vec![("hba_file".into(), hba.display().to_string())],
        ..Default::default()
    })
    .unwrap();
    cluster
        .connect("postgres")
        .unwrap()
        .batch_execute("create role app login password 'the-right-one'")
        .unwrap();
    let port = cluster.port();
    let ok = ConnectSpec::parse(&format!(
        "postgresql://app:the-right-one@127.0.0.1:{port}/postgres?sslmode=disable"
    ))
    .unwrap()
    .connect();
    assert!(ok.is_ok());
    let err = ConnectSpec::parse(&format!(
        "postgresql://app:hunter2wrong@127.0.0.1:{port}/postgres?sslmode=disable"
    ))
    .unwrap()
    .connect()
    .err()
    .expect("a wrong password must fail");
    let text = format!("{err} {}", err.hint().unwrap_or_default());
    assert_eq!(err.exit_code(), 2);
    assert!(
        text.contains("authentication failed for user \"app\""),
        "{text}"
    );
    assert!(text.contains("28P01"), "{text}");
    assert!(!text.contains("hunter2wrong"), "{text}");
}
