//! What the tests on real photos share: the converted weights and the fetched test photos.
#![allow(dead_code)]

use image::RgbImage;
use models::FaceModels;

/// The networks, from `$ILIVE_MODELS_DIR` (`bash scripts/models/setup.sh`).
pub fn models() -> FaceModels {
    FaceModels::load(&models::cache_dir("ILIVE_MODELS_DIR", "models"))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A test photo from `$ILIVE_FIXTURES_DIR/images` (`bash scripts/fixtures/fetch-images.sh`).
pub fn photo(name: &str) -> RgbImage {
    let path = models::cache_dir("ILIVE_FIXTURES_DIR", "fixtures")
        .join("images")
        .join(name);
    image::open(&path)
        .unwrap_or_else(|e| {
            panic!(
                "test photo {} unavailable ({e}): run `bash scripts/fixtures/fetch-images.sh`",
                path.display()
            )
        })
        .to_rgb8()
}
