//! The scenario parser never panics, and what it accepts round-trips.

use fal_testkit::{Fault, FaultRule, RouteKind, Scenario};
use proptest::prelude::*;

fn route() -> impl Strategy<Value = Option<RouteKind>> {
    prop_oneof![
        Just(None),
        Just(Some(RouteKind::Submit)),
        Just(Some(RouteKind::Status)),
        Just(Some(RouteKind::Result)),
        Just(Some(RouteKind::Run)),
    ]
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        (100u16..600, proptest::option::of(0u64..100), any::<bool>()).prop_map(
            |(status, retry_after, ingress)| {
                Fault::Status {
                    status,
                    retry_after,
                    body: None,
                    ingress,
                    request_id: None,
                }
            }
        ),
        Just(Fault::UserTimeout),
        (0u64..10_000).prop_map(|ms| Fault::Delay { ms }),
        proptest::option::of(0usize..1000)
            .prop_map(|after_bytes| Fault::DropConnection { after_bytes }),
        Just(Fault::MalformedBody),
    ]
}

fn rule() -> impl Strategy<Value = FaultRule> {
    (
        route(),
        proptest::option::of("[a-z]{1,8}/[a-z]{1,8}"),
        1u32..5,
        any::<bool>(),
        fault(),
    )
        .prop_map(|(route, endpoint, times, always, fault)| FaultRule {
            route,
            endpoint,
            request_id: None,
            times,
            always,
            fault,
        })
}

proptest! {
    #[test]
    fn arbitrary_text_gives_an_error_not_a_panic(text in ".{0,300}") {
        let _ = Scenario::from_json(&text);
    }

    #[test]
    fn json_shaped_noise_gives_an_error_not_a_panic(
        kind in "[a-z_]{0,20}",
        status in any::<i64>(),
        times in any::<i64>(),
        extra in "[a-z]{0,5}",
    ) {
        let text = format!(
            r#"{{"events":[{{"times":{times},"fault":{{"kind":"{kind}","status":{status},"{extra}":1}}}}]}}"#
        );
        let _ = Scenario::from_json(&text);
    }

    #[test]
    fn valid_scenarios_round_trip(events in proptest::collection::vec(rule(), 0..6), delay in proptest::option::of(0u64..5000)) {
        let scenario = Scenario { queue_delay_ms: delay, run_duration_ms: None, events };
        let text = serde_json::to_string(&scenario).expect("serializes");
        let parsed = Scenario::from_json(&text).expect("parses back");
        prop_assert_eq!(parsed, scenario);
    }
}
