//! The CDN host: serves the images synthesized outputs point at
//! (`files/testkit/<W>x<H>-<seed>-<i>.png`) as real PNG bytes.
//! Extension point: every other CDN path belongs to `crate::storage`.

use axum::body::Body;
use axum::response::Response;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, Method, StatusCode};

use crate::image;
use crate::reply;
use crate::router::Call;

/// Handles one CDN request.
pub(crate) async fn handle(call: Call, method: &Method) -> Response {
    let Some(name) = call.path.strip_prefix("files/testkit/") else {
        return reply::path_not_found(&format!("/{}", call.path));
    };
    // Output files of a request whose payloads were deleted (Platform APIs).
    if call.shared.platform.ledger.is_deleted_file(&call.path) {
        return reply::path_not_found(&format!("/{}", call.path));
    }
    if let Some(media) = name.strip_prefix("media/") {
        return crate::media::serve(&call, media, method).await;
    }
    let Some(spec) = image::parse_name(name) else {
        return reply::path_not_found(&format!("/{}", call.path));
    };
    if *method != Method::GET && *method != Method::HEAD {
        return reply::method_not_allowed();
    }
    let rendered = tokio::task::spawn_blocking(move || image::render(spec)).await;
    let bytes = match rendered {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(e)) => {
            return reply::detail(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("PNG encoding failed: {e}"),
            )
        }
        Err(_) => {
            return reply::detail(
                StatusCode::INTERNAL_SERVER_ERROR,
                "PNG rendering was interrupted",
            )
        }
    };
    let mut response = Response::new(if *method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(bytes)
    });
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("image/png"));
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    response
}
