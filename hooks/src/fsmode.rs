//! Files the hook writes under `$GIT_DIR`, with the permissions git gives
//! its own in a repository shared by a group (`core.sharedRepository`):
//! another member's push must be able to read and replace them.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::error::{HookError, IoContext};

/// `core.sharedRepository`, as git reads it (`setup.c`'s
/// `git_config_perm`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shared {
    /// Unset, `umask` or `false`: permissions as the umask leaves them.
    Umask,
    /// `group` or `true`: add group read and write.
    Group,
    /// `all`, `world` or `everybody`: also let others read.
    All,
    /// An octal mode such as `0640`: exactly that, for files.
    Mode(u32),
}

impl Shared {
    pub fn of(repo: &gix::Repository) -> Shared {
        let value = repo
            .config_snapshot()
            .string("core.sharedRepository")
            .map(|v| v.to_string());
        Self::parse(value.as_deref())
    }

    fn parse(value: Option<&str>) -> Shared {
        let Some(value) = value else {
            return Shared::Umask;
        };
        match value.trim().to_ascii_lowercase().as_str() {
            "" | "umask" | "false" | "no" | "off" | "0" => Shared::Umask,
            "group" | "true" | "yes" | "on" | "1" => Shared::Group,
            "all" | "world" | "everybody" | "2" => Shared::All,
            octal => u32::from_str_radix(octal, 8)
                .ok()
                .filter(|m| *m <= 0o777)
                // git forces the owner's read and write.
                .map(|m| Shared::Mode(m | 0o600))
                .unwrap_or(Shared::Group),
        }
    }

    /// The mode a file or directory with mode `current` (as created under
    /// the umask) should have (git's `calc_shared_perm`).
    fn adjust(self, current: u32, dir: bool) -> u32 {
        let tweak = match self {
            Shared::Umask => return current,
            Shared::Group => 0o660,
            Shared::All => 0o664,
            Shared::Mode(m) => m,
        };
        let mut mode = match self {
            Shared::Mode(_) => (current & !0o777) | tweak,
            _ => current | tweak,
        };
        if dir {
            // Readable means searchable, and new files keep the group.
            mode |= (mode & 0o444) >> 2;
            mode |= 0o2000;
        }
        mode
    }

    /// Give `path` (just created by us) the shared permissions.
    pub fn apply(self, path: &Path) -> Result<(), HookError> {
        if self == Shared::Umask {
            return Ok(());
        }
        let meta = std::fs::metadata(path).io(format!("reading {}", path.display()))?;
        let current = meta.permissions().mode() & 0o7777;
        let wanted = self.adjust(current, meta.is_dir());
        if wanted != current {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(wanted))
                .io(format!("setting the permissions of {}", path.display()))?;
        }
        Ok(())
    }

    /// Give an open file of ours the shared permissions if it lacks them
    /// (made before the repository was shared); another member's file is
    /// theirs to fix, and left as it is.
    pub fn heal(self, file: &std::fs::File) {
        if self == Shared::Umask {
            return;
        }
        if let Ok(meta) = file.metadata() {
            let current = meta.permissions().mode() & 0o7777;
            let wanted = self.adjust(current, false);
            if wanted != current {
                let _ = file.set_permissions(std::fs::Permissions::from_mode(wanted));
            }
        }
    }

    /// `create_dir_all`, each directory made given the shared permissions;
    /// an existing one that lacks them gets them when it is ours to change
    /// (a directory made before the repository was shared, say).
    pub fn create_dir_all(self, dir: &Path) -> Result<(), HookError> {
        if let Ok(meta) = std::fs::metadata(dir) {
            if meta.is_dir() && self != Shared::Umask {
                let current = meta.permissions().mode() & 0o7777;
                let wanted = self.adjust(current, true);
                if wanted != current {
                    // Another member's directory is theirs to fix.
                    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(wanted));
                }
            }
            return Ok(());
        }
        if let Some(parent) = dir.parent() {
            self.create_dir_all(parent)?;
        }
        match std::fs::create_dir(dir) {
            Ok(()) => self.apply(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(HookError::Io {
                context: format!("creating {}", dir.display()),
                source: e,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_as_git_makes_them() {
        let cases = [
            (None, 0o644, false, 0o644),
            (Some("group"), 0o644, false, 0o664),
            (Some("true"), 0o600, false, 0o660),
            (Some("all"), 0o600, false, 0o664),
            (Some("0640"), 0o644, false, 0o640),
            (Some("0600"), 0o644, false, 0o600),
            (Some("group"), 0o755, true, 0o2775),
            (Some("0640"), 0o755, true, 0o2750),
        ];
        for (value, current, dir, want) in cases {
            assert_eq!(
                Shared::parse(value).adjust(current, dir),
                want,
                "{value:?} {current:o}"
            );
        }
    }
}
