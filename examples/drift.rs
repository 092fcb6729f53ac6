fn main() {
    let text = std::fs::read_to_string("assets/demo/world.yaml").unwrap();
    let w = lbsg::world::file::load_str(&text, "demo").unwrap();
    let d = lbsg::core::desired::desired(&w);
    for (id, s) in &d.stacks {
        println!(
            "{id}: {}",
            match &s.model {
                Ok(m) => format!(
                    "ok lbsgs={:?} lb={:?} managed={:?}",
                    m.lb_security_groups, s.lb, s.managed_sgs
                ),
                Err(e) => format!("ERR {e}"),
            }
        );
    }
    println!(
        "targets complete={} per_sg={:?}",
        d.targets.complete,
        d.targets.per_sg.keys().collect::<Vec<_>>()
    );
    for t in &d.targets.tgbs {
        if let Err(e) = &t.result {
            println!("tgb {} err {e}", t.key);
        }
    }
    let p = lbsg::core::plan::drift(&w);
    print!("{}", lbsg::core::plan::render::render_text(&w, &p, &[]));
}
