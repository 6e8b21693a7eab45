import { Router } from "express";
import { prisma } from "../db";

export const templatesRouter = Router();

templatesRouter.get("/", async (req, res) => {
  const templates = await prisma.template.findMany({
    where: { tenantId: req.user.tenantId },
    take: 100,
  });
  res.json(templates);
});
