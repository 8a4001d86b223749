"""COCO ids in the client's --coco output: categories by class name, image ids by reference, number or order."""

from __future__ import annotations

from detection_client.coco import COCO_NAMES, CocoCategories, CocoImageIds, coco_document


def record(file: str, *detections: tuple[str, list[float], float]) -> dict:
    return {
        "file": file,
        "image": {"width": 640, "height": 480},
        "detections": [{"class_name": name, "box": box, "score": score} for name, box, score in detections],
    }


def test_a_coco_model_gets_cocos_ids_whatever_the_spelling():
    categories = CocoCategories.for_model(COCO_NAMES)
    assert [
        categories.id_for(name)
        for name in ("person", "dining table", "diningtable", "Dining_Table", "tv", "tvmonitor", "toothbrush")
    ] == [1, 67, 67, 67, 72, 72, 90]
    assert categories.id_for("giraffe-ish") is None
    darknet = tuple("sofa" if name == "couch" else name for name in COCO_NAMES)
    assert CocoCategories.for_model(darknet).id_for("sofa") == 63  # couch


def test_another_model_gets_class_id_plus_one():
    categories = CocoCategories.for_model(("helmet", "person"))
    assert categories.categories == [{"id": 1, "name": "helmet"}, {"id": 2, "name": "person"}]


def test_image_ids_from_the_reference_then_numbers_then_order():
    reference = {"images": [{"id": 7, "file_name": "a.jpg"}, {"id": 0, "file_name": "zero.jpg"}]}
    ids = CocoImageIds(["dir/a.jpg", "zero.jpg", "other.jpg", "more.jpg"], reference)
    assert [ids[n] for n in ("dir/a.jpg", "zero.jpg", "other.jpg", "more.jpg")] == [7, 0, 8, 9]
    numbered = CocoImageIds(["x/000000005001.jpg", "x/000000000042.png"])
    assert (numbered["x/000000005001.jpg"], numbered["x/000000000042.png"]) == (5001, 42)
    mixed = CocoImageIds(["000000005001.jpg", "cat.jpg"])
    assert (mixed["000000005001.jpg"], mixed["cat.jpg"]) == (1, 2)


def test_document_boxes_are_x_y_width_height_and_unknown_classes_are_counted():
    records = [
        record("b/2.jpg", ("cat", [10.0, 20.0, 110.0, 70.0], 0.9), ("unicorn", [0, 0, 1, 1], 0.5)),
        record("a/1.jpg"),
    ]
    document, unmatched = coco_document(
        records, CocoCategories.for_model(COCO_NAMES), CocoImageIds(["b/2.jpg", "a/1.jpg"])
    )
    assert unmatched == 1
    assert [image["id"] for image in document["images"]] == [1, 2]
    [annotation] = document["annotations"]
    assert annotation == {
        "id": 1,
        "image_id": 2,
        "category_id": 17,
        "bbox": [10.0, 20.0, 100.0, 50.0],
        "area": 5000.0,
        "iscrowd": 0,
        "score": 0.9,
    }
