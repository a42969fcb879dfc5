"""Remote lab: the allow-list of device functions, the function-string grammar, the MQTT
protocol between the cloud and the edge agent, the relay and the lab tables.

Kept import-light on purpose: import the submodule you need (``openevent.lab.grammar``,
``openevent.lab.store``, ...). Nothing here imports boto3, PynamoDB or awscrt.
"""
