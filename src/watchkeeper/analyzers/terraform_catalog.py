"""Resource types whose deletion loses data or access: the stateful catalog for plans.

Grouped by what is lost, per provider. A type here deleted or replaced is irreversible unless its
own attributes say a copy survives (a final snapshot, retained backups).
"""

from __future__ import annotations

_GROUPS: dict[str, str] = {
    "database": """
        aws_db_instance aws_rds_cluster aws_rds_cluster_instance aws_rds_global_cluster
        aws_dynamodb_table aws_dynamodb_global_table aws_redshift_cluster aws_docdb_cluster
        aws_docdb_cluster_instance aws_neptune_cluster aws_neptune_cluster_instance
        aws_elasticache_cluster aws_elasticache_replication_group aws_memorydb_cluster
        aws_opensearch_domain aws_elasticsearch_domain aws_timestreamwrite_table
        aws_keyspaces_table aws_qldb_ledger aws_db_snapshot aws_db_cluster_snapshot
        google_sql_database_instance google_sql_database google_spanner_instance
        google_spanner_database google_bigtable_instance google_bigtable_table
        google_bigquery_dataset google_bigquery_table google_firestore_database
        google_redis_instance google_alloydb_cluster google_alloydb_instance
        azurerm_mssql_server azurerm_mssql_database azurerm_sql_server azurerm_sql_database
        azurerm_postgresql_server azurerm_postgresql_flexible_server azurerm_postgresql_database
        azurerm_mysql_server azurerm_mysql_flexible_server azurerm_mysql_database
        azurerm_cosmosdb_account azurerm_cosmosdb_sql_database azurerm_cosmosdb_sql_container
        azurerm_redis_cache azurerm_mariadb_server azurerm_synapse_workspace
    """,
    "storage": """
        aws_s3_bucket aws_s3_object aws_ebs_volume aws_ebs_snapshot aws_efs_file_system
        aws_fsx_lustre_file_system aws_fsx_windows_file_system aws_fsx_ontap_file_system
        aws_backup_vault aws_glacier_vault aws_ecr_repository aws_codecommit_repository
        google_storage_bucket google_compute_disk google_compute_snapshot google_filestore_instance
        google_artifact_registry_repository google_compute_image
        azurerm_storage_account azurerm_storage_container azurerm_storage_share
        azurerm_managed_disk azurerm_snapshot azurerm_recovery_services_vault
        azurerm_container_registry azurerm_netapp_volume
    """,
    "cluster": """
        aws_eks_cluster aws_ecs_cluster aws_msk_cluster aws_emr_cluster aws_mq_broker
        google_container_cluster google_dataproc_cluster google_composer_environment
        azurerm_kubernetes_cluster azurerm_hdinsight_hadoop_cluster azurerm_servicebus_namespace
        azurerm_eventhub_namespace
    """,
    "queue": """
        aws_sqs_queue aws_kinesis_stream aws_kinesis_firehose_delivery_stream aws_sns_topic
        google_pubsub_topic google_pubsub_subscription azurerm_servicebus_queue
        azurerm_storage_queue azurerm_eventhub
    """,
    "dns": """
        aws_route53_zone aws_route53_record google_dns_managed_zone google_dns_record_set
        azurerm_dns_zone azurerm_private_dns_zone cloudflare_zone
    """,
    "key": """
        aws_kms_key aws_kms_alias aws_cloudhsm_v2_cluster aws_acm_certificate
        google_kms_key_ring google_kms_crypto_key azurerm_key_vault azurerm_key_vault_key
        azurerm_key_vault_secret
    """,
    "secret": """
        aws_secretsmanager_secret aws_ssm_parameter google_secret_manager_secret
        google_secret_manager_secret_version vault_generic_secret
    """,
    "identity": """
        aws_iam_user aws_iam_role aws_iam_group aws_iam_policy aws_iam_access_key
        aws_iam_openid_connect_provider aws_iam_saml_provider aws_cognito_user_pool
        google_service_account google_service_account_key google_project google_folder
        google_organization_iam_member azurerm_user_assigned_identity azuread_application
        azuread_service_principal azuread_user azurerm_resource_group
    """,
    "network": """
        aws_vpc aws_subnet aws_nat_gateway aws_eip aws_lb aws_transit_gateway
        google_compute_network google_compute_address azurerm_virtual_network azurerm_public_ip
    """,
}

STATEFUL: dict[str, str] = {kind: group for group, text in _GROUPS.items() for kind in text.split()}

#: Attributes that, in the state being deleted, decide whether anything survives.
NO_FINAL_COPY = (
    ("skip_final_snapshot", True),
    ("delete_automated_backups", True),
    ("force_destroy", True),
    ("backup_retention_period", 0),
)
ADMIN_PORTS = frozenset({22, 3389, 3306, 5432, 6379, 27017, 9200, 1433, 5984, 2375, 2379})

#: Resource types that hold no data and stand for nothing outside Terraform: deleting one loses
#: nothing the next apply does not make again (a new random value, a new wait).
EPHEMERAL = frozenset({"null_resource", "terraform_data"})
EPHEMERAL_PREFIXES = ("random_", "time_")


def ephemeral(kind: str) -> bool:
    """Whether a resource of type ``kind`` is nothing but Terraform's own bookkeeping."""
    return kind in EPHEMERAL or kind.startswith(EPHEMERAL_PREFIXES)
