//! Who runs dbsage, for the audit log: asked of the operating system (effective uid → user name,
//! host name), never of `$USER`/`$LOGNAME`, which anyone can set to anything.

use std::ffi::CStr;

/// `user@host` of the running process.
pub fn actor() -> String {
    format!("{}@{}", os_user(), host_name())
}

/// The name of the effective uid in the user database (`getpwuid_r`), or `uid<N>` when the uid
/// has no entry (containers often run with a bare uid).
pub fn os_user() -> String {
    // SAFETY: geteuid cannot fail and touches no memory.
    let uid = unsafe { libc::geteuid() };
    let mut buf = vec![0u8; 1024];
    loop {
        // SAFETY: `passwd` is plain data; getpwuid_r fills it with pointers into `buf`, which
        // outlives every read of them below.
        let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        let rc = unsafe {
            libc::getpwuid_r(
                uid,
                &mut entry,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut found,
            )
        };
        if rc == libc::ERANGE && buf.len() < 1 << 20 {
            buf.resize(buf.len() * 4, 0);
            continue;
        }
        if rc == 0 && !found.is_null() && !entry.pw_name.is_null() {
            // SAFETY: a successful lookup leaves a NUL-terminated name inside `buf`.
            let name = unsafe { CStr::from_ptr(entry.pw_name) };
            let name = name.to_string_lossy();
            if !name.is_empty() {
                return name.into_owned();
            }
        }
        return format!("uid{uid}");
    }
}

/// The kernel's host name (`gethostname`), or `localhost` when it cannot be read.
pub fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the length passed is the buffer's; the result is NUL-terminated when it fits,
    // and the last byte stays 0 either way.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len() - 1) };
    if rc != 0 {
        return "localhost".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    match String::from_utf8_lossy(&buf[..end]).trim() {
        "" => "localhost".into(),
        host => host.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_comes_from_the_uid() {
        let user = os_user();
        // SAFETY: geteuid touches no memory.
        if unsafe { libc::geteuid() } == 0 {
            assert_eq!(user, "root");
        }
        assert!(!host_name().is_empty());
        assert!(actor().starts_with(&format!("{user}@")));
    }
}
