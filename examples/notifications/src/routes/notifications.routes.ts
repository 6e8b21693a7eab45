import { Router } from "express";
import { prisma } from "../db";

const router = Router();

router.get("/", async (req, res) => {
  const take = Number(req.query.limit ?? 50);
  const notifications = await prisma.notification.findMany({
    where: { tenantId: req.user.tenantId },
    orderBy: { createdAt: "desc" },
    take,
  });
  res.json(notifications);
});

router.get("/failed", async (req, res) => {
  const failed = await prisma.notification.findMany({
    where: { status: "failed" },
  });
  res.json(failed);
});

router.post("/:id/retry", async (req, res) => {
  await prisma.notification.update({
    where: { id: req.params.id },
    data: { status: "queued" },
  });
  res.status(202).end();
});

export default router;
