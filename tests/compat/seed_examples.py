"""The seed pages' example client code, as written there except for host, key and image.

Each example is a function taking `host`, `api_key` and `image` in place of
the page's literal https://api.<provider>... host, YOUR_API_KEY and its image
URL. Everything else (paths, headers, bodies, polling loops and their
sleeps) is the page's. Where a page's script only prints its result, the
function returns what it printed so the test can check it.

One deliberate difference, in the Segmind v1 scripts: they call
`response.json()` on a 200, but the same pages say the endpoint "Returns:
Video" (Segmind answers with the MP4 bytes, and so do we), so those
functions return the response and the test reads its bytes.
"""

from __future__ import annotations

import time
from pathlib import Path

import requests

# --- 000 Segmind hailuo-02-fast (v1, synchronous) ----------------------------------------------


def segmind_hailuo_02_fast(host: str, api_key: str, image: str) -> requests.Response:
    url = f"{host}/v1/hailuo-02-fast"
    headers = {"x-api-key": api_key, "Content-Type": "application/json"}

    data = {
        "prompt": "sA 3D animated cartoon-style young boy sitting in a cozy recording studio, singing passionately "
        "into a professional podcast microphone. He is wearing large headphones, eyes expressive and wide, mouth "
        "open mid-song, showing emotion. One hand is lifted slightly as if feeling the music. There is a laptop, a "
        "sound mixer, and a coffee mug on the desk. Warm lighting and acoustic foam panels in the background. The "
        "scene feels lively, joyful, and full of musical energy.",
        "go_fast": True,
        "duration": "6",
        "prompt_optimizer": True,
        "first_frame_image": image,
        "last_frame_image": None,
    }

    response = requests.post(url, headers=headers, json=data)  # noqa: S113  (the page sets no timeout)
    return response


# --- 001 Segmind hailuo-2.3-fast (v1, synchronous) ---------------------------------------------


def segmind_hailuo_23_fast(host: str, api_key: str, image: str) -> requests.Response:
    url = f"{host}/v1/hailuo-2.3-fast"
    headers = {"x-api-key": api_key, "Content-Type": "application/json"}

    data = {
        "prompt": "A woman stands outdoors in soft sunlight, modeling a blue floral knit cardigan over white pants. "
        "She gently poses with relaxed confidence, running her hand through her flowing hair as the camera slowly "
        "pans around, highlighting the sweater’s floral pattern against a natural garden background.",
        "duration": 6,
        "resolution": "1080p",
        "prompt_optimizer": True,
        "first_frame_image": image,
    }

    response = requests.post(url, headers=headers, json=data)  # noqa: S113
    return response


# --- 002 Segmind minimax-hailuo-2 (v2 via the official SDK) -------------------------------------


def segmind_minimax_hailuo_2_payload(image: str) -> dict:
    return {
        "prompt": "Man wandered into a desert canyon with a lion at his side.",
        "prompt_optimizer": True,
        "image_url": image,
        "mode": "standard",
        "last_frame_image": None,
    }


# --- 003 AIML API hailuo-02 -----------------------------------------------------------------------


def aimlapi_main(host: str, api_key: str, image: str) -> dict | None:
    base_url = f"{host}/v2"

    # Creating and sending a video generation task to the server
    def generate_video():
        url = f"{base_url}/generate/video/minimax/generation"
        headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
        data = {
            "model": "minimax/hailuo-02",
            "prompt": "Mona Lisa puts on glasses with her hands.",
            "first_frame_image": image,
        }
        response = requests.post(url, json=data, headers=headers)  # noqa: S113
        if response.status_code >= 400:
            print(f"Error: {response.status_code} - {response.text}")
        else:
            response_data = response.json()
            return response_data

    # Requesting the result of the task from the server using the generation_id
    def get_video(gen_id):
        url = f"{base_url}/generate/video/minimax/generation"
        params = {"generation_id": gen_id}
        headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
        response = requests.get(url, params=params, headers=headers)  # noqa: S113
        return response.json()

    def main():
        # Running video generation and getting a task id
        gen_response = generate_video()
        print(gen_response)
        gen_id = gen_response.get("generation_id")
        print("Generation ID: ", gen_id)
        # Trying to retrieve the video from the server every 10 sec
        if gen_id:
            start_time = time.time()
            timeout = 1000
            while time.time() - start_time < timeout:
                response_data = get_video(gen_id)
                if response_data is None:
                    print("Error: No response from API")
                    break
                status = response_data.get("status")
                print("Status:", status)
                if status == "waiting" or status == "active" or status == "queued" or status == "generating":
                    print("Still waiting... Checking again in 10 seconds.")
                    time.sleep(10)
                else:
                    print("Processing complete:/n", response_data)
                    return response_data
            print("Timeout reached. Stopping.")
            return None

    return main()


# --- 004 Atlas Cloud minimax/hailuo-02/fast --------------------------------------------------------


def atlascloud_example(host: str, api_key: str, image: str) -> str:
    """The page's first script ("Contoh kode") with its generic width/height/duration/fps.

    The one change beyond host and key: the image `/fast` requires upstream, as `image`.
    """
    # Step 1: Start video generation
    generate_url = f"{host}/api/v1/model/generateVideo"
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {api_key}"}
    data = {
        "model": "minimax/hailuo-02/fast",
        "prompt": "A beautiful sunset over the ocean with gentle waves",
        "image": image,
        "width": 512,
        "height": 512,
        "duration": 3,
        "fps": 24,
    }

    generate_response = requests.post(generate_url, headers=headers, json=data)  # noqa: S113
    generate_result = generate_response.json()
    prediction_id = generate_result["data"]["id"]

    # Step 2: Poll for result
    poll_url = f"{host}/api/v1/model/prediction/{prediction_id}"

    def check_status():
        while True:
            response = requests.get(poll_url, headers={"Authorization": f"Bearer {api_key}"})  # noqa: S113
            result = response.json()

            if result["data"]["status"] in ["completed", "succeeded"]:
                print("Generated video:", result["data"]["outputs"][0])
                return result["data"]["outputs"][0]
            elif result["data"]["status"] == "failed":
                raise Exception(result["data"]["error"] or "Generation failed")
            else:
                # Still processing, wait 2 seconds
                time.sleep(2)

    video_url = check_status()
    return video_url


def atlascloud_upload(host: str, api_key: str, image_path: Path) -> str:
    """The page's "Contoh Unggah" (upload) script."""
    url = f"{host}/api/v1/model/uploadMedia"
    headers = {"Authorization": f"Bearer {api_key}"}

    with open(image_path, "rb") as f:
        files = {"file": ("image.png", f, "image/png")}
        response = requests.post(url, headers=headers, files=files)  # noqa: S113

    result = response.json()
    download_url = result["data"]["download_url"]
    print(f"File URL: {download_url}")
    return download_url


def atlascloud_submit_input_form(host: str, api_key: str, image: str) -> str:
    """The page's "Isi Permintaan" script (the `input` object form), with a first frame added as `image`."""
    url = f"{host}/api/v1/model/generateVideo"
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {api_key}"}

    data = {
        "model": "minimax/hailuo-02/fast",
        "input": {"prompt": "A beautiful sunset over the ocean with gentle waves", "image": image},
    }

    response = requests.post(url, headers=headers, json=data)  # noqa: S113
    result = response.json()

    print(f"Prediction ID: {result['id']}")
    print(f"Status: {result['status']}")
    return result["id"]


def atlascloud_poll(host: str, api_key: str, prediction_id: str) -> str | None:
    """The page's "Contoh Polling" script; returns the output URL it prints."""
    url = f"{host}/api/v1/model/prediction/{prediction_id}"
    headers = {"Authorization": f"Bearer {api_key}"}

    while True:
        response = requests.get(url, headers=headers)  # noqa: S113
        result = response.json()
        status = result["data"]["status"]
        print(f"Status: {status}")

        if status in ["completed", "succeeded"]:
            output_url = result["data"]["outputs"][0]
            print(f"Output URL: {output_url}")
            return output_url
        elif status == "failed":
            print(f"Error: {result['data'].get('error', 'Unknown')}")
            return None

        time.sleep(3)
