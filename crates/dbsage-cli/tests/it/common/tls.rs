//! TLS for test servers: a CA made for the test and a server certificate for localhost and
//! 127.0.0.1 signed by it (for `sslmode=verify-full`). Test files take it with
//! `use crate::common::tls;`.

use std::path::Path;

use dbsage_cluster::{Cluster, ClusterOptions, RunAs};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};

/// `ca.pem`, `server.crt` and `server.key` (0600, owned by the server's user when dbsage runs
/// it as another user) in a fresh directory.
pub fn certificates() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "dbsage test CA");
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params
        .subject_alt_names
        .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
    std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
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
    dir
}

/// A throwaway cluster serving TLS with `certificates`' server certificate.
pub fn cluster(certificates: &Path) -> Cluster {
    let p = |f: &str| certificates.join(f).display().to_string();
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

/// The cluster's `database` over TCP with its password, `sslmode=verify-full` against `ca`.
pub fn verify_full_url(cluster: &Cluster, database: &str, ca: &Path) -> String {
    format!(
        "postgresql://postgres:{}@localhost:{}/{database}?sslmode=verify-full&sslrootcert={}",
        cluster.password(),
        cluster.port(),
        ca.display()
    )
}
