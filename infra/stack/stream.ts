import { CORS, streamRoutes } from "../routes.js";

/**
 * The stream API: API Gateway's REST API in front of the Stream function, with response
 * streaming. Why this and not the others:
 * - the HTTP API (API Gateway v2) that serves the rest of Weft buffers a Lambda's reply;
 * - a Lambda function URL can stream, but not from a function inside a VPC, and with
 *   ElastiCache the Stream function must be in the VPC to block on Redis;
 * - a REST API integration with `responseTransferMode: STREAM` invokes the function with
 *   InvokeWithResponseStream and passes the body on as it is written, for up to 15 minutes,
 *   wherever the function runs.
 * The provider this project pins does not know `responseTransferMode` yet, so the API is
 * defined by its OpenAPI body with the `x-amazon-apigateway-integration` extension, which
 * API Gateway reads itself.
 */
export interface StreamApi {
  api: aws.apigateway.RestApi;
  stage: aws.apigateway.Stage;
  /** `https://<id>.execute-api.<region>.amazonaws.com/live`: the base WEFT_STREAM_URL names. */
  url: $util.Output<string>;
}

export const STREAM_STAGE = "live";
/** Lambda's own limit: a stream lasts at most this long; clients resume by Last-Event-ID. */
export const STREAM_TIMEOUT_MS = 900_000;

export function createStreamApi(fn: sst.aws.Function): StreamApi {
  const region = aws.getRegionOutput().name;
  const uri = $interpolate`arn:aws:apigateway:${region}:lambda:path/2021-11-15/functions/${fn.arn}/response-streaming-invocations`;
  const body = uri.apply((integrationUri) =>
    JSON.stringify({
      openapi: "3.0.1",
      info: { title: `${$app.name}-${$app.stage}-stream`, version: "1" },
      paths: Object.fromEntries(
        streamRoutes.map((r) => {
          const operation = {
            parameters: [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: "path", required: true, schema: { type: "string" } })),
            "x-amazon-apigateway-integration": {
              type: "aws_proxy",
              httpMethod: "POST",
              uri: integrationUri,
              responseTransferMode: "STREAM",
              timeoutInMillis: STREAM_TIMEOUT_MS,
            },
          };
          // The dashboard is another origin: a preflight goes to the function too, which answers
          // it from infra/routes.ts CORS (functions/live/routes.ts), as it adds the headers to its replies.
          return [r.path, { [r.method.toLowerCase()]: operation, options: operation }];
        }),
      ),
      // What API Gateway answers itself (throttled, integration failed) must be readable by the page too.
      "x-amazon-apigateway-gateway-responses": Object.fromEntries(
        ["DEFAULT_4XX", "DEFAULT_5XX"].map((type) => [
          type,
          {
            responseParameters: {
              "gatewayresponse.header.Access-Control-Allow-Origin": `'${CORS.allowOrigins.join(",")}'`,
              "gatewayresponse.header.Access-Control-Expose-Headers": `'${CORS.exposeHeaders.join(",")}'`,
            },
          },
        ]),
      ),
    }),
  );
  const api = new aws.apigateway.RestApi("StreamApi", { body, endpointConfiguration: { types: "REGIONAL" } });
  const deployment = new aws.apigateway.Deployment("StreamApiDeployment", {
    restApi: api.id,
    // A new deployment whenever the routes change.
    triggers: { body },
  });
  const stage = new aws.apigateway.Stage("StreamApiStage", { restApi: api.id, deployment: deployment.id, stageName: STREAM_STAGE });
  new aws.lambda.Permission("StreamApiInvoke", {
    action: "lambda:InvokeFunction",
    function: fn.name,
    principal: "apigateway.amazonaws.com",
    sourceArn: $interpolate`${api.executionArn}/*/*`,
  });
  return { api, stage, url: stage.invokeUrl };
}
