variable "project_id" {
  description = "GCP project that hosts the bucket, the image repository and the job."
  type        = string
}

variable "region" {
  description = "Region of the bucket, the repository and the Cloud Run job."
  type        = string
  default     = "europe-west1"
}

variable "bucket_name" {
  description = "Name of the data lake bucket (created here)."
  type        = string
}

variable "lake_prefix" {
  description = "Folder of the lake inside the bucket (tmp/, raw/, staging/, delta/ live under it)."
  type        = string
  default     = "mouvements"
}

variable "repository" {
  description = "Artifact Registry repository for the image."
  type        = string
  default     = "mouvements"
}

variable "image_tag" {
  description = "Tag of the mouvements-gen image that deploy.sh pushes."
  type        = string
  default     = "latest"
}

variable "job_name" {
  description = "Name of the Cloud Run job."
  type        = string
  default     = "mouvements-gen"
}

variable "task_count" {
  description = "Tasks per execution: each writes the shards s with s % task_count == its index."
  type        = number
  default     = 5
}

variable "parallelism" {
  description = "Tasks running at once."
  type        = number
  default     = 5
}

variable "write_mode" {
  description = "What an execution does with the lake's dataset: resume (keep what a previous execution of the same settings finished; a committed one is only re-checked) or overwrite (write it again: a new Delta version)."
  type        = string
  default     = "resume"

  validation {
    condition     = contains(["resume", "overwrite"], var.write_mode)
    error_message = "write_mode must be resume or overwrite."
  }
}

variable "generate_args" {
  description = "Arguments after `mouvements-gen generate` (rows, shards, seed, month, layers...); not --resume or --overwrite: set write_mode."
  type        = list(string)
  default     = ["--rows", "10M", "--shards", "5", "--seed", "42", "--month", "2025-06"]
}

variable "append_schedule" {
  description = "Cron of the monthly append (Cloud Scheduler), e.g. \"0 3 1 * *\" for 03:00 on the first of each month; empty: no schedule, no append job."
  type        = string
  default     = ""
}

variable "append_time_zone" {
  description = "Time zone of append_schedule."
  type        = string
  default     = "Europe/Paris"
}

variable "append_args" {
  description = "Arguments after `mouvements-gen generate --append`: the load's rows and shards (its month: the one after the lake's last load; the other settings: the lake's)."
  type        = list(string)
  default     = ["--rows", "10M", "--shards", "5"]
}

variable "task_timeout" {
  description = "Longest a task may run."
  type        = string
  default     = "3600s"
}

variable "max_retries" {
  description = "Retries of a failed task (a retried task rewrites its shards, byte for byte)."
  type        = number
  default     = 1
}

variable "cpu" {
  description = "CPUs per task."
  type        = string
  default     = "2"
}

variable "memory" {
  description = "Memory per task: about 200 MiB per shard written at once (one per CPU), upload parts and Parquet writers included."
  type        = string
  default     = "1Gi"
}

variable "abort_uploads_after_days" {
  description = "Days after which unfinished multipart uploads (of a killed task) are aborted."
  type        = number
  default     = 1
}

variable "databricks_service_account" {
  description = "Service account of the Databricks storage credential, granted read access to the bucket; empty for none."
  type        = string
  default     = ""
}

variable "tmp_retention_days" {
  description = "Days after which objects under tmp/ are deleted."
  type        = number
  default     = 3
}

variable "raw_cold_after_days" {
  description = "Days after which objects under raw/ move to a colder storage class."
  type        = number
  default     = 30
}

variable "raw_cold_storage_class" {
  description = "Storage class raw/ objects move to."
  type        = string
  default     = "NEARLINE"
}
