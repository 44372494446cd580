//! `setting-random-page-cost` on clusters whose data directory is on a real block device:
//! this machine's disk (judged by what the kernel says of it, read here independently with
//! stat(2)), and ext4 on a loop device over memory (non-rotational by the kernel's word).
//! `DBSAGE_CLUSTER_DIR` is process-wide: the test runs alone in a child process (`alone`).

#[path = "../../../dbsage-cluster/tests/it/alone.rs"]
mod alone;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use dbsage_cluster::Cluster;
use dbsage_tune::{tune, TuneOptions, TuneReport};

fn tune_on_cluster_under(dir: &Path) -> (Cluster, TuneReport) {
    std::env::set_var("DBSAGE_CLUSTER_DIR", dir);
    let cluster = Cluster::start().expect("start a cluster on disk");
    std::env::remove_var("DBSAGE_CLUSTER_DIR");
    assert!(cluster.data_dir().starts_with(dir));
    let mut client = cluster.connect("postgres").unwrap();
    let report = tune(&mut client, &TuneOptions::default()).expect("tune");
    (cluster, report)
}

/// `/sys/dev/block/MAJ:MIN/queue/rotational` (or its disk's, for a partition) of the device
/// holding `path`, by stat(2): another route than the server's mount table.
fn rotational(path: &Path) -> bool {
    let dev = std::fs::metadata(path).unwrap().dev();
    let (major, minor) = (dev_major(dev), dev_minor(dev));
    let base = PathBuf::from(format!("/sys/dev/block/{major}:{minor}"));
    let flag = std::fs::read_to_string(base.join("queue/rotational"))
        .or_else(|_| std::fs::read_to_string(base.join("../queue/rotational")))
        .expect("the kernel's rotational flag for the test directory's device");
    flag.trim() == "1"
}

fn dev_major(dev: u64) -> u64 {
    ((dev >> 32) & 0xffff_f000) | ((dev >> 8) & 0xfff)
}

fn dev_minor(dev: u64) -> u64 {
    ((dev >> 12) & 0xffff_ff00) | (dev & 0xff)
}

/// An ext4 filesystem in a file in /dev/shm, mounted through a loop device (which takes its
/// backing store's rotational flag: memory does not rotate); unmounted on drop.
struct LoopMount {
    // Removed after the unmount (fields drop after `drop`).
    _dir: tempfile::TempDir,
    mount_point: PathBuf,
}

impl LoopMount {
    fn new() -> LoopMount {
        let dir = tempfile::tempdir_in("/dev/shm").unwrap();
        let image = dir.path().join("ssd.img");
        let mount_point = dir.path().join("mnt");
        std::fs::create_dir(&mount_point).unwrap();
        std::fs::File::create(&image)
            .unwrap()
            .set_len(128 * 1024 * 1024)
            .unwrap();
        let ok = |c: &mut Command| c.status().is_ok_and(|s| s.success());
        assert!(ok(Command::new("mkfs.ext4").arg("-q").arg(&image)));
        assert!(
            ok(Command::new("mount")
                .arg("-o")
                .arg("loop")
                .arg(&image)
                .arg(&mount_point)),
            "mounting a loop device (needs root)"
        );
        LoopMount {
            _dir: dir,
            mount_point,
        }
    }
}

impl Drop for LoopMount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.mount_point).status();
    }
}

#[test]
fn random_page_cost_follows_the_kernels_word_on_the_data_directorys_device() {
    alone::run_alone("tunegaps_storage::on_disk_and_on_a_loop_device");
}

#[test]
#[ignore = "sets DBSAGE_CLUSTER_DIR: run by random_page_cost_follows_the_kernels_word_on_the_data_directorys_device"]
fn on_disk_and_on_a_loop_device() {
    assert!(
        alone::is_alone("tunegaps_storage::on_disk_and_on_a_loop_device"),
        "run me through random_page_cost_follows_the_kernels_word_on_the_data_directorys_device"
    );
    // This machine's disk: reported only if the kernel says it does not rotate.
    let on_disk = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let spinning = rotational(on_disk.path());
    let (cluster, report) = tune_on_cluster_under(on_disk.path());
    let found = report
        .findings
        .iter()
        .find(|f| f.check == "setting-random-page-cost");
    if spinning {
        assert!(found.is_none(), "{found:#?}");
        assert!(!report
            .withheld
            .iter()
            .any(|w| w.check == "setting-random-page-cost"));
    } else {
        let f = found.expect("a finding on a non-rotational disk");
        assert_eq!(f.evidence["storage"], "non-rotational (SSD)");
    }
    drop(cluster);

    // /proc/self belongs to the process's effective user.
    if std::fs::metadata("/proc/self").unwrap().uid() != 0 {
        eprintln!("not root: the loop-device half of this test needs mount(8)");
        return;
    }
    let ssd = LoopMount::new();
    assert!(!rotational(&ssd.mount_point), "loop devices do not rotate");
    let (cluster, report) = tune_on_cluster_under(&ssd.mount_point);
    let f = report
        .findings
        .iter()
        .find(|f| f.check == "setting-random-page-cost")
        .unwrap_or_else(|| panic!("{:#?} {:#?}", report.findings, report.withheld));
    assert_eq!(f.evidence["storage"], "non-rotational (SSD)");
    assert!(
        f.evidence["device"]
            .as_str()
            .unwrap()
            .starts_with("/dev/loop"),
        "{f:#?}"
    );
    drop(cluster);
}
