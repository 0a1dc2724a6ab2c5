fn main() {
    let text = std::fs::read_to_string(std::env::args().nth(1).unwrap()).unwrap();
    let config =
        scour::config::Config::load(std::path::Path::new(&std::env::args().nth(2).unwrap()))
            .unwrap();
    let p = scour::pipeline::Pipeline::new(config);
    let doc = p.clean(&text);
    for b in &doc.blocks {
        eprintln!("{:?} {} {:?}", b.kind, b.line, b.text);
    }
    eprintln!("{:?}", p.keys(&doc));
}
