"""A client in the style of the Flask tutorial Gatehouse grew from.

It requests a token with a JSON body, reads response.json()['token'], and
calls the protected route with the token as the bare Authorization header,
exactly as the tutorial's token_required decorator expects. Only the URL
differs from the tutorial (Gatehouse listens on :8080).

    python3 examples/client.py [BASE_URL] [USERNAME] [PASSWORD]
"""
import sys

import requests

base = sys.argv[1] if len(sys.argv) > 1 else 'http://localhost:8080'
username = sys.argv[2] if len(sys.argv) > 2 else 'your_username'
password = sys.argv[3] if len(sys.argv) > 3 else 'your_password'

url = base + '/get_token'
data = {'username': username, 'password': password}
response = requests.post(url, json=data)
if response.status_code == 200:
    token = response.json()['token']
    print(f'Token: {token}')
else:
    print('Authentication failed')
    sys.exit(1)

protected = requests.get(base + '/protected_resource', headers={'Authorization': token})
print(protected.status_code, protected.json()['message'])
if protected.status_code != 200:
    sys.exit(1)

missing = requests.get(base + '/protected_resource')
print(missing.status_code, missing.json()['message'])
