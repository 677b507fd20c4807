//! A server and the people who use it through the forge's tools.

use crate::{short_tempdir, Member, Server, User, Workdir};

/// A [`Server`] owned by the first of a team of [`Member`]s, with every other
/// member's key registered on `apps/access-control`.
///
/// The owner has a clone at once; the others get theirs from
/// [`Forge::clone_all`], when the test wants them (before or after it pushed
/// `main`, say).
pub struct Forge {
    /// A scratch directory of the test's.
    pub root: tempfile::TempDir,
    pub server: Server,
    /// The members, the owner first.
    pub users: Vec<Member>,
}

impl Forge {
    /// A member for each of `handles` (see [`Member::new`]; every command of
    /// theirs gets the variables `env`), a server installed with the first
    /// as owner, the owner's clone, and the others' keys registered by the
    /// owner in one signed push.
    pub fn new(handles: &[&str], env: &[(&str, &str)]) -> Forge {
        let users: Vec<Member> = handles.iter().map(|h| Member::new(h, env)).collect();
        let server = Server::install(users[0].user());
        let forge = Forge {
            root: short_tempdir("f"),
            server,
            users,
        };
        forge.owner().make_clone(&forge.server);
        let others: Vec<&User> = forge.users[1..].iter().map(Member::user).collect();
        if !others.is_empty() {
            Workdir::clone(forge.owner().user(), &forge.server).register(&others);
        }
        forge
    }

    /// Makes the clone of every member but the owner (who has one).
    pub fn clone_all(&self) {
        for u in &self.users[1..] {
            u.make_clone(&self.server);
        }
    }

    /// The member with this handle.
    pub fn user(&self, handle: &str) -> &Member {
        self.users
            .iter()
            .find(|u| u.name == handle)
            .unwrap_or_else(|| panic!("no member {handle:?}"))
    }

    /// The server's owner, who may change anything.
    pub fn owner(&self) -> &Member {
        &self.users[0]
    }

    /// The owner writes (`Some`) or removes (`None`) `files` on
    /// `apps/access-control` in one commit with `message`, and pushes it,
    /// signed; the push must succeed (see [`Workdir::edit_access_control`]).
    #[track_caller]
    pub fn edit_access_control(&self, files: &[(&str, Option<&str>)], message: &str) {
        Workdir::clone(self.owner().user(), &self.server)
            .edit_access_control_with(files, message)
            .assert_ok();
    }

    /// The owner creates `main` with one commit (a `README`), pushed signed
    /// from their clone.
    #[track_caller]
    pub fn push_main(&self) {
        let owner = self.owner();
        std::fs::write(owner.clone.join("README"), "hello\n").expect("write README");
        owner.commit_and_push("initial", "refs/heads/main");
    }
}

impl std::fmt::Debug for Forge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Forge({:?}, {:?})", self.server, self.users)
    }
}
