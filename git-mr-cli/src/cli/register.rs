//! `git mr register`: your key on apps/access-control, in one signed push.

use git_mr::register::Registration;

use super::{CommandResult, Ctx};

/// Put your public key (user.signingkey) on apps/access-control as keys/<FPR>.asc.
#[derive(clap::Args)]
#[command(
    after_help = "Exports your key with gpg (minimal: self-signatures only), commits it as\n\
keys/<FPR>.asc on apps/access-control and pushes it, signed. The server accepts it where\n\
its policy lets anyone add their own key (`gitapps-hook install --open-registration`);\n\
elsewhere the project's owner adds keys. Run again after changing your key (new user\n\
id, new expiry): the file is updated."
)]
pub struct Args {}

pub fn run(ctx: &Ctx, _args: Args) -> CommandResult {
    let (me, outcome) = git_mr::register::register(&ctx.forge).map_err(|e| {
        let mut err = ctx.explain(e.into());
        if err.kind == super::error::Kind::Denied {
            err = err.hint(
                "this server does not let users add their own keys: send your key \
                 (gpg --armor --export <FPR>) to the project's owner",
            );
        }
        err
    })?;
    let path = git_mr::register::key_path(&me);
    match outcome {
        Registration::Added => println!("registered {path}"),
        Registration::Updated => println!("updated {path}"),
        Registration::Unchanged => ctx
            .ui
            .note(&format!("{path} is there already: nothing to do")),
    }
    Ok(())
}
