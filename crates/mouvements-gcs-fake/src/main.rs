//! `gcs-fake`: runs the fake on a fixed port until killed, to try `gs://` lakes by hand.
//! Usage: `gcs-fake [PORT] [BUCKET]` (defaults 4443 and test-bucket).

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let port = args.next().and_then(|p| p.parse().ok()).unwrap_or(4443);
    let bucket = args.next().unwrap_or_else(|| "test-bucket".to_owned());
    let fake = mouvements_gcs_fake::FakeGcs::start_on(&bucket, port)?;
    println!("serving gs://{bucket} at {}", fake.base_url());
    println!("GOOGLE_SERVICE_ACCOUNT_KEY='{}'", fake.service_account_json());
    loop {
        std::thread::park();
    }
}
