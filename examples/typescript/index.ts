// One RealtimeSocket, declared from TypeScript through the SDK `pulumi package add` generates.
import * as pulumi from "@pulumi/pulumi";
import * as realtimeSocket from "@pulumi/realtime-socket";

const config = new pulumi.Config();

const chat = new realtimeSocket.RealtimeSocket("chat", {
    jwt: {
        issuer: "https://auth.example.com/",
        audience: ["chat"],
        // A secret Output: the component stores it as an SSM SecureString, never in plain text.
        secret: config.requireSecret("jwtSecret"),
    },
    throttling: { burstLimit: 200, rateLimit: 500 },
    // Execution logs need the account's CloudWatch role, which this program does not create.
    loggingLevel: "OFF",
    limits: {
        allowedOrigins: ["https://app.example.com"],
        maxConnectionsPerUser: 5,
    },
    history: { retentionSeconds: 900 },
});

export const url = chat.url;
export const managementEndpoint = chat.managementEndpoint;
export const tableName = chat.tableName;
export const historyTableName = chat.historyTableName;
