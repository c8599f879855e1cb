//! Behaviour of bindings for OpenAPI 3.1 constructs (fixture
//! `acme__shapes__v31.json`): `const`, type arrays, `$defs`, and `oneOf`
//! unions told apart by a property, with and without a `discriminator`.

use fal_bindings_all::fixtures::acme::shapes::v31::{
    Circle, Fill, FillChoice, Gradient, Palette, Shape, ShapesInput, ShapesOutput, Solid, Square,
};
use serde_json::json;

#[test]
fn inline_arms_write_their_tag_first() {
    // `mode` is a string `const`: a `String` whose other values `validate()`
    // refuses (`literal_error`), as fal would.
    let input = ShapesInput::new("fast", Shape::from(Circle::new(2.5)))
        .with_palette(Palette::Warm)
        .with_seed(3)
        .with_label("north");
    let wire = serde_json::to_string(&input).unwrap_or_default();
    assert_eq!(
        wire,
        r#"{"label":"north","mode":"fast","palette":"warm","seed":3,"shape":{"kind":"circle","radius":2.5}}"#
    );
    let square = Shape::from(Square::new(1).with_rounded(true));
    assert_eq!(
        serde_json::to_value(&square).ok(),
        Some(json!({"kind": "square", "side": 1.0, "rounded": true}))
    );
    assert_eq!(
        serde_json::to_value(Shape::Dot).ok(),
        Some(json!({"kind": "dot"}))
    );
    assert_eq!(square.tag(), "square");
}

#[test]
fn the_tag_picks_the_arm_and_unknown_tags_are_kept() {
    let read = |v: serde_json::Value| serde_json::from_value::<Shape>(v);
    assert!(
        matches!(read(json!({"kind": "square", "side": 2})), Ok(Shape::Square(s)) if s.side == 2.0)
    );
    assert!(matches!(read(json!({"kind": "dot"})), Ok(Shape::Dot)));
    // A circle's fields under the square tag are not a square.
    assert!(read(json!({"kind": "square", "radius": 2})).is_err());
    let unknown = json!({"kind": "star", "points": 5});
    match read(unknown.clone()) {
        Ok(shape @ Shape::Other(_)) => {
            assert_eq!(shape.tag(), "star");
            assert_eq!(serde_json::to_value(&shape).ok(), Some(unknown));
        }
        other => panic!("{other:?}"),
    }
    let missing = read(json!({"radius": 1}))
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(missing.contains("`kind`"), "{missing}");
}

#[test]
fn discriminator_mapping_names_arms_that_are_components() {
    let fill: Fill =
        serde_json::from_value(json!({"fill_type": "gradient", "from": "red", "to": "blue"}))
            .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(&fill, Fill::Gradient(g) if g.from == "red" && g.fill_type == "gradient"));
    // The component keeps its tag property, so it round-trips unchanged.
    assert_eq!(
        serde_json::to_value(&fill).ok(),
        Some(json!({"fill_type": "gradient", "from": "red", "to": "blue"}))
    );
    let solid = Fill::from(Solid::new("solid", "teal"));
    assert_eq!(solid.tag(), "solid");
    let _: Gradient = Gradient::new("gradient", "a", "b");
}

#[test]
fn outputs_read_consts_nullable_unions_and_tag_only_arms() {
    let out: ShapesOutput =
        serde_json::from_value(json!({"area": 4.0, "version": 2, "fill": {"fill_type": "none"}}))
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.version, 2);
    assert!(matches!(out.fill, Some(FillChoice::None)));
    let out: ShapesOutput = serde_json::from_value(json!({"area": 1, "version": 2, "fill": null}))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.fill.is_none());
    let out: ShapesOutput = serde_json::from_value(
        json!({"area": 1, "version": 2, "fill": {"fill_type": "solid", "color": "red"}}),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(out.fill, Some(FillChoice::Solid(s)) if s.color == "red"));
}

#[test]
fn members_beside_properties_are_kept() {
    let wire = json!({
        "area": 1.0, "version": 2,
        "meta": {"version": 3, "region": "eu", "tier": "gold"},
        "raw": {"kind": "k", "nested": {"any": [1, 2]}}
    });
    let out: ShapesOutput = serde_json::from_value(wire.clone()).unwrap_or_else(|e| panic!("{e}"));
    let meta = out
        .meta
        .as_ref()
        .map(|m| (m.version, m.extra.get("region").cloned()));
    assert_eq!(meta, Some((3, Some("eu".to_owned()))));
    assert_eq!(out.raw.as_ref().map(|r| r.extra.len()), Some(1));
    assert_eq!(serde_json::to_value(&out).ok(), Some(wire));
    // A member of the wrong type for the map fails with the member named.
    let bad = serde_json::from_value::<ShapesOutput>(
        json!({"area": 1, "version": 2, "meta": {"version": 1, "region": 5}}),
    );
    assert!(bad.is_err());
}
