//! `gitapps_cli`: what every git app's command line shares, so that the next
//! app's CLI is its verbs. No clap here: each app declares its own arguments.
//!
//! * [`error`]: kinds of errors (exit codes), the hints of the core's errors in
//!   the words of the app's command ([`error::set_app`]), and the
//!   [`command_error!`] macro that defines an app's `CommandError`.
//! * [`ui`]: colours (NO_COLOR, terminals), warnings, errors with hints, JSON,
//!   dates, and the cleaning of untrusted text for the terminal.
//! * [`editor`]: texts from `-m`, `-F` or the editor, drafts kept until pushed.
//! * [`html`]: the static export's page shell and escaping.
//!
//! An app's CLI starts with `gitapps_cli::error::set_app(APP)` and
//! `gitapps_cli::command_error!();` in its error module, then adds
//! `impl From<its library's Error> for CommandError` with its own hints.

pub mod editor;
pub mod error;
pub mod html;
pub mod ui;
