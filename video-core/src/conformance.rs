//! Checks every implementation of the core traits must pass.
//!
//! Backends call these from their own tests (feature `conformance`). The checks panic with a
//! message on failure. **Not covered by semver.**

use futures::StreamExt;

use crate::{
    DatasetSink, Demuxer, EncodedFrame, Frame, FrameSource, FrameTable, ImageFormat, ResolvedPlan,
    SamplingPlan, VideoManifest, VideoMetadata, VideoRef,
};

/// The source yields exactly the plan's frames, in order, each identified by the table's index
/// and pts; an empty plan yields nothing; the source can be reused after a stream is dropped
/// early. Returns the frames of `plan`.
pub async fn frame_source_honours_plan(
    src: &mut dyn FrameSource,
    table: &FrameTable,
    plan: &ResolvedPlan,
) -> Vec<Frame> {
    let frames: Vec<Frame> = src
        .frames(plan)
        .map(|r| r.expect("frame source failed on a valid plan"))
        .collect()
        .await;
    let got: Vec<u64> = frames.iter().map(|f| f.info.index).collect();
    assert_eq!(
        got,
        plan.indices(),
        "frame source did not yield exactly the plan's indices in order"
    );
    for f in &frames {
        let t = table.get(f.info.index).expect("index in table");
        assert_eq!(
            f.info.pts, t.pts,
            "frame {} has pts {} but the table says {}",
            f.info.index, f.info.pts, t.pts
        );
        assert!(
            f.width > 0 && f.height > 0,
            "frame {} has no pixels",
            f.info.index
        );
        for (i, p) in f.planes.iter().enumerate() {
            assert!(p.row_bytes <= p.stride, "plane {i} row wider than stride");
            assert!(
                p.offset + p.stride * p.rows.saturating_sub(1) + p.row_bytes <= f.data.len(),
                "plane {i} outside data"
            );
        }
    }
    assert!(
        src.stats().frames_emitted >= plan.len() as u64,
        "stats count fewer emitted frames than yielded"
    );

    let empty: Vec<_> = src.frames(&ResolvedPlan::default()).collect().await;
    assert!(empty.is_empty(), "an empty plan yielded frames");

    if plan.len() >= 2 {
        // Drop a stream after one frame; the source must serve the next plan.
        {
            let mut s = src.frames(plan);
            let first = s.next().await.expect("one frame").expect("frame ok");
            assert_eq!(first.info.index, plan.indices()[0]);
        }
        let last = ResolvedPlan::from_indices(vec![*plan.indices().last().expect("non-empty")]);
        let again: Vec<Frame> = src
            .frames(&last)
            .map(|r| r.expect("reuse after drop"))
            .collect()
            .await;
        assert_eq!(again.len(), 1, "source not reusable after a dropped stream");
        assert_eq!(again[0].info.index, last.indices()[0]);
    }
    frames
}

/// The demuxer decodes through the trait object: [`Demuxer::frame_source`] on `demuxer` (a
/// `&mut dyn Demuxer`, so a backend picked at run time) gives a source that passes
/// [`frame_source_honours_plan`] for `plan` resolved on the demuxer's own frame table. Returns
/// the frames.
pub async fn demuxer_frame_source_honours_plan(
    demuxer: &mut dyn Demuxer,
    plan: &SamplingPlan,
) -> Vec<Frame> {
    demuxer.probe().await.expect("probe");
    let table = demuxer.frame_table().await.expect("frame table");
    let plan = plan
        .resolve(&table)
        .expect("plan resolves on the demuxer's table");
    let mut src = demuxer.frame_source().await.expect("frame source");
    frame_source_honours_plan(src.as_mut(), &table, &plan).await
}

/// The sink stores, reports existing frames, and finishes videos, as its contract says.
pub async fn dataset_sink_contract(sink: &dyn DatasetSink) {
    let video = VideoRef {
        folder: "conformance/a".into(),
        name: "clip".into(),
    };
    let table = FrameTable::from_decode_order(
        "conformance",
        (0..3).map(|i| crate::PacketEntry {
            pts: Some(crate::Timestamp::from_nanos(i * 40_000_000)),
            duration: None,
            keyframe: true,
        }),
    )
    .expect("table");
    assert!(
        sink.existing(&video, &[0, 1, 2])
            .await
            .expect("existing")
            .is_empty(),
        "new sink reports frames"
    );
    let mut recs = Vec::new();
    for i in [0u64, 2] {
        let f = EncodedFrame {
            info: *table.frame(i).expect("frame"),
            width: 2,
            height: 1,
            format: ImageFormat::Png,
            bytes: vec![i as u8; 10 + i as usize],
            framemd5: None,
        };
        let r = sink.write_frame(&video, &f).await.expect("write");
        assert_eq!(r.index, i);
        assert_eq!(r.bytes, 10 + i);
        assert!(!r.key.is_empty(), "frame {i} has an empty key");
        recs.push(r);
    }
    assert_ne!(recs[0].key, recs[1].key, "two frames share a key");
    let have = sink.existing(&video, &[0, 1, 2]).await.expect("existing");
    let idx: Vec<u64> = have.iter().map(|r| r.index).collect();
    assert_eq!(
        idx,
        vec![0, 2],
        "existing() does not report what was written"
    );
    for (h, r) in have.iter().zip(&recs) {
        assert_eq!(h.key, r.key, "existing() reports another key");
    }
    let other = VideoRef {
        folder: "conformance/a".into(),
        name: "other".into(),
    };
    assert!(
        sink.existing(&other, &[0])
            .await
            .expect("existing")
            .is_empty(),
        "frames leak between videos"
    );
    let mut info = serde_json::Map::new();
    info.insert("dataset".into(), "conformance".into());
    let manifest = VideoManifest::new(VideoMetadata::new("conformance"))
        .sample_info(info)
        .frames(recs);
    sink.finish_video(&video, &manifest).await.expect("finish");
    // Finishing again replaces the manifest and is not an error.
    sink.finish_video(&video, &manifest)
        .await
        .expect("finish again");
}

/// The sink stores frame annotations and dataset files, as its contract says: each frame's
/// annotation gets its own key (not a frame's), writing it again returns the same key, and
/// annotating a frame found by `existing` works like annotating one just written. Sinks that
/// take annotated extractions call this next to [`dataset_sink_contract`].
pub async fn dataset_sink_stores_annotations(sink: &dyn DatasetSink) {
    let video = VideoRef {
        folder: "conformance/annotated".into(),
        name: "clip".into(),
    };
    let table = FrameTable::from_decode_order(
        "conformance",
        (0..2).map(|i| crate::PacketEntry {
            pts: Some(crate::Timestamp::from_nanos(i * 40_000_000)),
            duration: None,
            keyframe: true,
        }),
    )
    .expect("table");
    let mut recs = Vec::new();
    for i in [0u64, 1] {
        let f = EncodedFrame {
            info: *table.frame(i).expect("frame"),
            width: 2,
            height: 1,
            format: ImageFormat::Png,
            bytes: vec![7; 12],
            framemd5: None,
        };
        recs.push(sink.write_frame(&video, &f).await.expect("write"));
    }
    let doc = |i: u64| format!("{{\"frame\": {i}}}").into_bytes();
    let mut keys = Vec::new();
    for r in &recs {
        let key = sink
            .write_annotation(&video, r, &doc(r.index))
            .await
            .expect("write_annotation");
        assert!(
            !key.is_empty(),
            "frame {} has an empty annotation key",
            r.index
        );
        assert!(
            recs.iter().all(|f| f.key != key),
            "annotation key {key} is a frame's key"
        );
        keys.push(key);
    }
    assert_ne!(keys[0], keys[1], "two frames share an annotation key");
    // Rewriting (a re-run with corrected labels) replaces the annotation under the same key,
    // also for a record found by `existing`.
    let found = sink.existing(&video, &[1]).await.expect("existing");
    assert_eq!(found.len(), 1, "existing() lost a frame");
    let again = sink
        .write_annotation(&video, &found[0], &doc(100))
        .await
        .expect("write_annotation again");
    assert_eq!(again, keys[1], "rewriting an annotation moved it");
    let mut manifest = VideoManifest::new(VideoMetadata::new("conformance")).frames(recs);
    for (r, k) in manifest.frames.iter_mut().zip(&keys) {
        r.annotation_key = Some(k.clone());
    }
    sink.finish_video(&video, &manifest)
        .await
        .expect("finish with annotation keys");
    sink.write_dataset_file("conformance/meta.json", b"{}")
        .await
        .expect("write_dataset_file");
    sink.write_dataset_file("conformance/meta.json", b"{\"classes\": []}")
        .await
        .expect("write_dataset_file again");
}

/// Dataset files: `read_dataset_file` gives back what `write_dataset_file` and
/// `write_dataset_file_from` stored (a 20 MiB file, so a sink that uploads in parts uses
/// several), `None` for a key never written; writing again replaces the file.
pub async fn dataset_sink_stores_dataset_files(sink: &dyn DatasetSink) {
    let key = "conformance/files/a.json";
    assert_eq!(
        sink.read_dataset_file("conformance/files/none.json")
            .await
            .expect("reading a missing dataset file failed"),
        None,
        "a key never written must read as None"
    );
    sink.write_dataset_file(key, b"{\"v\":1}")
        .await
        .expect("write_dataset_file failed");
    sink.write_dataset_file(key, b"{\"v\":2}")
        .await
        .expect("writing a dataset file again failed");
    assert_eq!(
        sink.read_dataset_file(key)
            .await
            .expect("read_dataset_file failed")
            .as_deref(),
        Some(&b"{\"v\":2}"[..])
    );
    let dir = std::env::temp_dir().join(format!(
        "video-core-conformance-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    std::fs::create_dir_all(&dir).expect("cannot create a temporary directory");
    let path = dir.join("big.bin");
    // Not a repeating pattern of the part size: a part sent twice or out of order shows.
    let big: Vec<u8> = (0..20u32 * 1024 * 1024 + 12_345)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    std::fs::write(&path, &big).expect("cannot write a temporary file");
    let key = "conformance/files/big.bin";
    let n = sink
        .write_dataset_file_from(key, &path)
        .await
        .expect("write_dataset_file_from failed");
    assert_eq!(n, big.len() as u64);
    let back = sink
        .read_dataset_file(key)
        .await
        .expect("read_dataset_file failed")
        .expect("stored file missing");
    assert!(back == big, "the stored file differs from the local one");
    let _ = std::fs::remove_dir_all(&dir);
}
