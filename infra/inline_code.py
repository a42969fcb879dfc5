"""Code the stack deploys inline: the custom resource that fills the deployment secret inside
AWS at deploy time (never in the template or a default), and the CloudFront function that
maps the one origin's paths to the web app, the lab console and the scanner page.
"""

# Generates the secret's values inside AWS at deploy time (never in the template or a
# default): inline code, so CloudFormation's cfnresponse module is available.
SECRET_GENERATOR = """
import base64, json, secrets
import boto3, cfnresponse

def handler(event, context):
    try:
        if event["RequestType"] == "Create":
            boto3.client("secretsmanager").put_secret_value(
                SecretId=event["ResourceProperties"]["SecretArn"],
                SecretString=json.dumps({
                    "jwt_secret": secrets.token_urlsafe(48),
                    "data_key": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
                    # the ticket-signing key ring (openevent.signing.keys): a random seed
                    "ticket_keys": json.dumps({"active": 1, "keys": {"1": {
                        "private": base64.b64encode(secrets.token_bytes(32)).decode()}}})}))
        cfnresponse.send(event, context, cfnresponse.SUCCESS, {}, "openevent-secret-values")
    except Exception as exc:
        cfnresponse.send(event, context, cfnresponse.FAILED, {"error": type(exc).__name__},
                         "openevent-secret-values")
"""

STATIC_REWRITE = """function handler(event) {
  var request = event.request;
  var uri = request.uri;
  if (uri.indexOf('/media/') === 0) {
    request.uri = uri.substring(6);
  } else if (uri === '/lab' || uri === '/lab/') {
    request.uri = '/lab/index.html';
  } else if (uri === '/checkin' || uri === '/checkin/') {
    request.uri = '/checkin/index.html';
  } else if (uri.indexOf('/lab/') !== 0 && uri.indexOf('/checkin/') !== 0
             && uri.split('/').pop().indexOf('.') === -1) {
    request.uri = '/index.html';
  }
  return request;
}
"""
