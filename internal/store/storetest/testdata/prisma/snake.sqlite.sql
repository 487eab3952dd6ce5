-- CreateTable
CREATE TABLE "app_users" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "clerk_id" TEXT NOT NULL,
    "email_address" TEXT,
    "first_name" TEXT,
    "last_name" TEXT,
    "username" TEXT,
    "image_url" TEXT,
    "public_metadata" JSONB,
    "banned" BOOLEAN NOT NULL DEFAULT false,
    "last_sign_in_at" DATETIME,
    "created_at" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" DATETIME NOT NULL,
    "deleted_at" DATETIME
);

-- CreateIndex
CREATE UNIQUE INDEX "app_users_clerk_id_key" ON "app_users"("clerk_id");

