output "bucket_url" {
  description = "The lake's base URL, for -o and GCS_BUCKET_BASE."
  value       = local.lake
}

output "image" {
  description = "Where deploy.sh pushes the image."
  value       = local.image
}

output "job_name" {
  description = "The Cloud Run job."
  value       = google_cloud_run_v2_job.generate["generate"].name
}

output "execute_command" {
  description = "Runs one execution of the job and waits for it."
  value       = "gcloud run jobs execute ${google_cloud_run_v2_job.generate["generate"].name} --region ${var.region} --project ${var.project_id} --wait"
}

output "append_job_name" {
  description = "The Cloud Run job Cloud Scheduler runs to append the next load (empty without var.append_schedule)."
  value       = var.append_schedule == "" ? "" : google_cloud_run_v2_job.generate["append"].name
}
