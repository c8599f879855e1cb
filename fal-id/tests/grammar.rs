//! Properties of the grammar over arbitrary strings, biased towards the pieces
//! that make ids dangerous in URLs (dot segments, escapes, backslashes).

use fal_id::{EndpointId, NAMESPACES};
use proptest::prelude::*;

/// Strings built from fragments that matter to the grammar and to URL parsers.
fn id_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        prop::sample::select(fal_id::testing::PIECES).prop_map(str::to_owned),
        "[a-zA-Z0-9]{1,6}",
        any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..12).prop_map(|pieces| pieces.concat())
}

proptest! {
    #[test]
    fn accepted_ids_are_plain_url_segments(raw in id_like()) {
        if let Ok(id) = EndpointId::parse(&raw) {
            let segments: Vec<&str> = id.segments().collect();
            prop_assert!(segments.len() >= 2);
            for segment in &segments {
                prop_assert!(!segment.is_empty());
                prop_assert!(*segment != "." && *segment != "..");
                prop_assert!(segment
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')));
            }
            // The canonical form parses back to the same id.
            let shown = id.to_string();
            let reparsed = EndpointId::parse(&shown);
            prop_assert_eq!(reparsed, Ok(id.clone()));
            prop_assert_eq!(shown, segments.join("/"));
            // The base is a prefix of the id, of 2 or 3 segments.
            let base: Vec<&str> = id.base_segments().collect();
            prop_assert_eq!(&segments[..base.len()], &base[..]);
            let expected = if NAMESPACES.contains(&segments[0]) { 3 } else { 2 };
            prop_assert_eq!(base.len(), expected);
        }
    }

    #[test]
    fn refusals_name_the_input_and_never_panic(raw in id_like()) {
        if let Err(err) = EndpointId::parse(&raw) {
            prop_assert_eq!(err.id(), raw.as_str());
            let message = err.to_string();
            prop_assert!(message.starts_with("invalid endpoint id "));
            prop_assert!(!message.chars().any(|c| c.is_control()), "{:?}", message);
        }
    }
}
