# The GCP side of mouvements: the lake bucket with its lifecycle rules, a least-privilege
# service account, an image repository, the Cloud Run job that runs mouvements-gen with one
# task per group of shards, and (with var.append_schedule) a second job that appends the next
# month's load, run by Cloud Scheduler.

terraform {
  required_version = ">= 1.5"
  required_providers {
    google = {
      source  = "hashicorp/google"
      # deletion_protection on google_cloud_run_v2_job exists from 6.0.
      version = ">= 6.0, < 8.0"
    }
  }
}

provider "google" {
  project = var.project_id
  region  = var.region
}

locals {
  apis  = concat(["run.googleapis.com", "artifactregistry.googleapis.com", "storage.googleapis.com", "iam.googleapis.com", "logging.googleapis.com"], var.append_schedule == "" ? [] : ["cloudscheduler.googleapis.com"])
  image = "${var.region}-docker.pkg.dev/${var.project_id}/${var.repository}/mouvements-gen:${var.image_tag}"
  lake  = "gs://${google_storage_bucket.lake.name}/${var.lake_prefix}"

  # The jobs and their arguments: the lake's first load (or its rewrite), and with a schedule
  # the append of the next load, the same image and identity.
  job_args = merge(
    { generate = concat(["generate", "--log-format", "json", "--${var.write_mode}"], var.generate_args) },
    var.append_schedule == "" ? {} : { append = concat(["generate", "--log-format", "json", "--append"], var.append_args) },
  )
}

resource "google_project_service" "apis" {
  for_each           = toset(local.apis)
  service            = each.value
  disable_on_destroy = false
}

resource "google_storage_bucket" "lake" {
  name                        = var.bucket_name
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false

  versioning {
    enabled = false
  }

  lifecycle_rule {
    condition {
      age            = var.tmp_retention_days
      matches_prefix = ["${var.lake_prefix}/tmp/"]
    }
    action {
      type = "Delete"
    }
  }

  # A task killed by a timeout leaves its multipart uploads open (and their parts billed).
  lifecycle_rule {
    condition {
      age = var.abort_uploads_after_days
    }
    action {
      type = "AbortIncompleteMultipartUpload"
    }
  }

  lifecycle_rule {
    condition {
      age            = var.raw_cold_after_days
      matches_prefix = ["${var.lake_prefix}/raw/"]
    }
    action {
      type          = "SetStorageClass"
      storage_class = var.raw_cold_storage_class
    }
  }

  depends_on = [google_project_service.apis]
}

# The lake's layers, as folder markers (the job writes all three). No marker for tmp/: the
# tmp/ lifecycle rule would delete it, and every later apply would create it again.
resource "google_storage_bucket_object" "stages" {
  for_each = toset(["raw", "staging", "delta"])
  bucket   = google_storage_bucket.lake.name
  name     = "${var.lake_prefix}/${each.value}/"
  content  = " "
}

resource "google_service_account" "job" {
  account_id   = "mouvements-gen"
  display_name = "mouvements-gen Cloud Run job"
}

# Least privilege: object create, read, list and delete on this bucket only.
resource "google_storage_bucket_iam_member" "job_objects" {
  bucket = google_storage_bucket.lake.name
  role   = "roles/storage.objectUser"
  member = "serviceAccount:${google_service_account.job.email}"
}

# Databricks on GCP reads the lake through its storage credential's service account: object
# reads and bucket metadata, on this bucket only (set var.databricks_service_account).
resource "google_storage_bucket_iam_member" "databricks_read" {
  for_each = var.databricks_service_account == "" ? toset([]) : toset(["roles/storage.objectViewer", "roles/storage.legacyBucketReader"])
  bucket   = google_storage_bucket.lake.name
  role     = each.value
  member   = "serviceAccount:${var.databricks_service_account}"
}

resource "google_artifact_registry_repository" "images" {
  location      = var.region
  repository_id = var.repository
  format        = "DOCKER"
  depends_on    = [google_project_service.apis]
}

resource "google_cloud_run_v2_job" "generate" {
  for_each            = local.job_args
  name                = each.key == "generate" ? var.job_name : "${var.job_name}-append"
  location            = var.region
  deletion_protection = false

  template {
    task_count  = var.task_count
    parallelism = var.parallelism

    template {
      service_account = google_service_account.job.email
      timeout         = var.task_timeout
      max_retries     = var.max_retries

      containers {
        image = local.image
        args  = each.value

        env {
          name  = "GCS_BUCKET_BASE"
          value = local.lake
        }
        # Cloud Run sets CLOUD_RUN_EXECUTION itself: the tasks of one execution write one
        # dataset together, and a re-execution is another run (see write_mode).
        env {
          name  = "GCP_PROJECT_ID"
          value = var.project_id
        }
        env {
          name  = "GCP_REGION"
          value = var.region
        }

        resources {
          limits = {
            cpu    = var.cpu
            memory = var.memory
          }
        }
      }
    }
  }

  depends_on = [google_project_service.apis, google_storage_bucket_iam_member.job_objects]
}

moved {
  from = google_cloud_run_v2_job.generate
  to   = google_cloud_run_v2_job.generate["generate"]
}

# The scheduler's own identity: it may run the append job, nothing else.
resource "google_service_account" "scheduler" {
  count        = var.append_schedule == "" ? 0 : 1
  account_id   = "mouvements-scheduler"
  display_name = "Runs the mouvements-gen append job on schedule"
}

resource "google_cloud_run_v2_job_iam_member" "scheduler_runs_append" {
  count    = var.append_schedule == "" ? 0 : 1
  name     = google_cloud_run_v2_job.generate["append"].name
  location = var.region
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.scheduler[0].email}"
}

# Each execution is one run (CLOUD_RUN_EXECUTION): a retried task finds the load it helped
# write; the next execution appends the month after.
resource "google_cloud_scheduler_job" "append" {
  count     = var.append_schedule == "" ? 0 : 1
  name      = "${var.job_name}-append"
  region    = var.region
  schedule  = var.append_schedule
  time_zone = var.append_time_zone

  http_target {
    http_method = "POST"
    uri         = "https://run.googleapis.com/v2/projects/${var.project_id}/locations/${var.region}/jobs/${google_cloud_run_v2_job.generate["append"].name}:run"
    oauth_token {
      service_account_email = google_service_account.scheduler[0].email
      scope                 = "https://www.googleapis.com/auth/cloud-platform"
    }
  }

  depends_on = [google_project_service.apis, google_cloud_run_v2_job_iam_member.scheduler_runs_append]
}
