//! Generates typed bindings for the endpoints the examples call, exactly as a
//! user's own build script would: from the schema files, into OUT_DIR, rerun
//! whenever one of them changes.

fn main() {
    let generated = fal_codegen::Builder::new()
        .schema_file("../schemas/fal-ai__flux__dev.json")
        .build();
    if let Err(error) = generated {
        // A build script reports failure by exiting non-zero; cargo shows stderr.
        eprintln!("error: {error}");
        std::process::exit(1);
    }
}
