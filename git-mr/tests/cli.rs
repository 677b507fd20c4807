//! End-to-end tests of `git mr` through a real bare repository with `gitapps-hook`
//! installed, real `git push --signed` and real gpg users.

mod common;

use common::World;

#[test]
fn init_create_list_show() {
    let world = World::new(&["owner", "alice", "bob", "eve"]);
    let owner = world.owner();
    let alice = world.user("alice");
    let bob = world.user("bob");
    world.setup_main();
    owner.mr(&["init", "--maintainer", &bob.fpr]);
    world.grant_main_to_maintainers();

    alice.git(&["checkout", "-q", "-b", "feature", "origin/main"]);
    std::fs::write(alice.clone.join("a.txt"), "one\n").unwrap();
    alice.git(&["add", "a.txt"]);
    alice.git(&["commit", "-q", "-m", "add a"]);
    let name = alice.mr(&[
        "create",
        "-t",
        "Add a",
        "-m",
        "Adds a.txt",
        "--target",
        "main",
    ]);
    assert_eq!(name.trim(), format!("{}/1", alice.fpr));

    let list = bob.json(&["list", "--json"]);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], format!("{}/1", alice.fpr));
    assert_eq!(list[0]["author"], alice.fpr);
    assert_eq!(list[0]["number"], 1);
    assert_eq!(list[0]["title"], "Add a");
    assert_eq!(list[0]["target"], "main");
    assert_eq!(list[0]["state"], "open");
    assert_eq!(list[0]["labels"], serde_json::json!(["open"]));
    assert_eq!(list[0]["revisions"], 1);

    let show = bob.json(&["show", "alice/1", "--json"]);
    assert_eq!(show["comments"][0]["body"], "Adds a.txt\n");
    assert_eq!(show["comments"][0]["date"], common::NOW);
    assert_eq!(show["comments"][0]["revision"], 1);
    assert_eq!(show["comments"][0]["index"], 0);
}
