import express from "express";
import { requireAuth } from "./auth";
import notificationsRouter from "./routes/notifications.routes";

export const app = express();

app.use(express.json());
app.get("/health", (_req, res) => res.json({ ok: true }));
app.use("/notifications", requireAuth, notificationsRouter);
