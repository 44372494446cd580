//! What the server's own machine says about itself, read through the server (`pg_read_file`,
//! superuser or `pg_read_server_files`): its memory and the storage under its data directory.
//!
//! Read through the server rather than on dbsage's machine so that the answer is the server's
//! even when it is remote or in a container (its own `/proc/self/mountinfo` and cgroup); when
//! the role may not read server files the answer is "unknown", never a guess.

use postgres::Client;

/// The server's memory: `MemTotal` of its `/proc/meminfo`, lowered to its cgroup's memory
/// limit when it runs under one (a container sees the host's MemTotal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ram {
    pub bytes: i64,
    pub limited_by_cgroup: bool,
}

/// The server's RAM, or `None` when the role may not read the server's files.
pub(crate) fn ram(client: &mut Client) -> Option<Ram> {
    let meminfo = read(client, "/proc/meminfo")?;
    let kb: i64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let total = kb * 1024;
    match cgroup_limit(client) {
        Some(limit) if limit < total => Some(Ram {
            bytes: limit,
            limited_by_cgroup: true,
        }),
        _ => Some(Ram {
            bytes: total,
            limited_by_cgroup: false,
        }),
    }
}

/// The memory limit of the backend's cgroup (v2 `memory.max`, v1 `memory.limit_in_bytes`);
/// `max` or the v1 "unlimited" sentinel are no limit.
fn cgroup_limit(client: &mut Client) -> Option<i64> {
    let cgroups = read(client, "/proc/self/cgroup")?;
    for line in cgroups.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let path = path.trim_end_matches('/');
        let candidates = if controllers.is_empty() {
            vec![
                format!("/sys/fs/cgroup{path}/memory.max"),
                format!("/sys/fs/cgroup/unified{path}/memory.max"),
            ]
        } else if controllers.split(',').any(|c| c == "memory") {
            vec![format!("/sys/fs/cgroup/memory{path}/memory.limit_in_bytes")]
        } else {
            continue;
        };
        for file in candidates {
            if let Some(limit) = read(client, &file).and_then(|t| t.trim().parse::<i64>().ok()) {
                // v1 reports "unlimited" as a page-rounded i64::MAX.
                if limit < i64::MAX / 2 {
                    return Some(limit);
                }
            }
        }
    }
    None
}

/// What kind of storage holds the data directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Storage {
    /// A block device the kernel says is rotational (a spinning disk).
    Rotational { device: String },
    /// A block device the kernel says is not rotational (SSD, NVMe, most cloud volumes).
    NonRotational { device: String },
    /// Memory (tmpfs, ramfs): random reads cost what sequential ones do.
    Memory { filesystem: String },
    /// Not knowable from here; the reason says why.
    Unknown { reason: String },
}

/// The storage under the server's data directory, found as the kernel sees it: the mount that
/// holds `data_directory` (longest mount point prefix in the backend's `/proc/self/mountinfo`)
/// → its device → `/sys/dev/block/MAJ:MIN/queue/rotational` (a partition's queue is its
/// disk's). A data directory reached through a symbolic link is judged by the mount of the
/// path the server reports.
pub(crate) fn data_directory_storage(client: &mut Client) -> Storage {
    let Some(data_directory) = setting(client, "data_directory") else {
        return Storage::Unknown {
            reason:
                "the role may not read data_directory (needs superuser or pg_read_all_settings)"
                    .into(),
        };
    };
    let Some(mountinfo) = read(client, "/proc/self/mountinfo") else {
        return Storage::Unknown {
            reason:
                "the role may not read the server's files (needs superuser or pg_read_server_files)"
                    .into(),
        };
    };
    let Some(mount) = mount_of(&mountinfo, &data_directory) else {
        return Storage::Unknown {
            reason: format!("no mount holds {data_directory} in the server's mount table"),
        };
    };
    if matches!(mount.filesystem.as_str(), "tmpfs" | "ramfs") {
        return Storage::Memory {
            filesystem: mount.filesystem,
        };
    }
    let queue_dirs = if mount.major != "0" {
        let dev = format!("/sys/dev/block/{}:{}", mount.major, mount.minor);
        vec![format!("{dev}/queue"), format!("{dev}/../queue")]
    } else if let Some(name) = mount.source.strip_prefix("/dev/") {
        // btrfs and friends report an anonymous device number; their source names the disk.
        let name = name.rsplit('/').next().unwrap_or(name);
        let dev = format!("/sys/class/block/{name}");
        vec![format!("{dev}/queue"), format!("{dev}/../queue")]
    } else {
        return Storage::Unknown {
            reason: format!(
                "{data_directory} is on {} ({}), not a local block device",
                mount.filesystem, mount.source
            ),
        };
    };
    for dir in queue_dirs {
        match read(client, &format!("{dir}/rotational"))
            .as_deref()
            .map(str::trim)
        {
            Some("1") => {
                return Storage::Rotational {
                    device: mount.source,
                }
            }
            Some("0") => {
                return Storage::NonRotational {
                    device: mount.source,
                }
            }
            _ => {}
        }
    }
    Storage::Unknown {
        reason: format!(
            "the kernel does not say whether {} (under {data_directory}) is rotational",
            mount.source
        ),
    }
}

struct Mount {
    major: String,
    minor: String,
    filesystem: String,
    source: String,
}

/// The mount holding `path`: the longest mount point that is a prefix of it, the last one
/// mounted when several share it (it hides the earlier ones).
fn mount_of(mountinfo: &str, path: &str) -> Option<Mount> {
    let mut best: Option<(usize, Mount)> = None;
    for line in mountinfo.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let Some(separator) = fields.iter().position(|f| *f == "-") else {
            continue;
        };
        let (Some(device), Some(mount_point), Some(filesystem), Some(source)) = (
            fields.get(2),
            fields.get(4),
            fields.get(separator + 1),
            fields.get(separator + 2),
        ) else {
            continue;
        };
        let mount_point = unescape(mount_point);
        let holds = mount_point == "/"
            || path == mount_point
            || path.starts_with(&format!("{mount_point}/"));
        if !holds
            || best
                .as_ref()
                .is_some_and(|(len, _)| mount_point.len() < *len)
        {
            continue;
        }
        let Some((major, minor)) = device.split_once(':') else {
            continue;
        };
        best = Some((
            mount_point.len(),
            Mount {
                major: major.into(),
                minor: minor.into(),
                filesystem: filesystem.to_string(),
                source: unescape(source),
            },
        ));
    }
    best.map(|(_, m)| m)
}

/// mountinfo escapes space, tab, newline and backslash as `\NNN` octal.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .and_then(|d| std::str::from_utf8(d).ok());
        if bytes[i] == b'\\' {
            if let Some(code) = octal.and_then(|d| u8::from_str_radix(d, 8).ok()) {
                out.push(code);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A server setting the role may be refused (`data_directory` needs pg_read_all_settings).
fn setting(client: &mut Client, name: &str) -> Option<String> {
    guarded(client, |c| {
        c.query_one("select current_setting($1)", &[&name])
            .ok()
            .map(|r| r.get(0))
    })
}

/// A file on the server's machine, or `None` when the role may not read it or it is absent.
pub(crate) fn read(client: &mut Client, path: &str) -> Option<String> {
    guarded(client, |c| {
        c.query_one("select pg_catalog.pg_read_file($1)", &[&path])
            .ok()
            .map(|r| r.get(0))
    })
}

/// Runs `f` in a savepoint so that a refusal does not end `tune`'s transaction.
fn guarded<T>(client: &mut Client, f: impl FnOnce(&mut Client) -> Option<T>) -> Option<T> {
    client.batch_execute("savepoint dbsage_server_files").ok()?;
    let value = f(client);
    let end = if value.is_some() {
        "release savepoint dbsage_server_files"
    } else {
        "rollback to savepoint dbsage_server_files"
    };
    client.batch_execute(end).ok()?;
    value
}
