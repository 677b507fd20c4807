//! Texts from `-m`, `-F` or the editor, with drafts kept until the change is pushed.

use std::path::PathBuf;

use gitapps_core::Forge;

/// Why no text came.
#[derive(Debug)]
pub enum EditError {
    /// The user's doing (a file that cannot be read, an editor that failed).
    User(String),
    Io(std::io::Error),
    Core(gitapps_core::Error),
}

impl From<std::io::Error> for EditError {
    fn from(e: std::io::Error) -> Self {
        EditError::Io(e)
    }
}

impl From<gitapps_core::Error> for EditError {
    fn from(e: gitapps_core::Error) -> Self {
        EditError::Core(e)
    }
}

/// A message from `-m`, `-F` or the editor.
#[derive(Debug)]
pub struct Message {
    pub text: String,
    /// The file the editor wrote, kept until the change is pushed (see
    /// [`Message::kept_hint`]).
    pub draft: Option<PathBuf>,
}

impl Message {
    /// The change is done: the draft is no longer needed.
    pub fn done(&self) {
        if let Some(d) = &self.draft {
            let _ = std::fs::remove_file(d);
        }
    }

    /// The change failed: the draft stays, and this hint says where.
    pub fn kept_hint(&self) -> Option<String> {
        self.draft.as_ref().map(|d| {
            format!(
                "your text is kept in {}: pass it again with -F {}",
                d.display(),
                d.display()
            )
        })
    }
}

/// The message from `-m` (several are paragraphs), `-F FILE` (`-` is stdin), or the
/// editor (`git var GIT_EDITOR`) on a draft file under `<git-dir>/<app's cache>/drafts/`
/// starting with `template`; lines starting with `#` are dropped from the editor's
/// text. `None` when the editor left nothing, or left the template as it was.
pub fn message(
    forge: &Forge,
    messages: &[String],
    file: Option<&PathBuf>,
    template: &str,
) -> Result<Option<Message>, EditError> {
    let given = |text: String| Ok(Some(Message { text, draft: None }));
    if !messages.is_empty() {
        return given(messages.join("\n\n"));
    }
    if let Some(file) = file {
        let text = if file.as_os_str() == "-" {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)?;
            s
        } else {
            std::fs::read_to_string(file)
                .map_err(|e| EditError::User(format!("cannot read {}: {e}", file.display())))?
        };
        return given(text);
    }
    let editor = forge.git().run(["var", "GIT_EDITOR"])?.trim().to_owned();
    // One draft per invocation: a failed push leaves it for the next try,
    // and no other command overwrites it.
    let dir = forge.cache_dir().join("drafts");
    std::fs::create_dir_all(&dir)?;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let path = dir.join(format!("{stamp}-{}.txt", std::process::id()));
    std::fs::write(&path, template)?;
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$@\""))
        .arg(&editor)
        .arg(&path)
        .status()?;
    if !status.success() {
        let _ = std::fs::remove_file(&path);
        return Err(EditError::User(format!("the editor ({editor}) failed")));
    }
    let raw = std::fs::read_to_string(&path)?;
    let text: Vec<&str> = raw.lines().filter(|l| !l.starts_with('#')).collect();
    let text = text.join("\n").trim().to_owned();
    if text.is_empty() || raw == template {
        let _ = std::fs::remove_file(&path);
        return Ok(None);
    }
    Ok(Some(Message {
        text: format!("{text}\n"),
        draft: Some(path),
    }))
}
