package auth

import (
	"context"

	"github.com/civic-city/civic/internal/civic"
)

// DeviceSource finds a registered device.
type DeviceSource interface {
	Device(ctx context.Context, id string) (civic.Device, error)
}

// DeviceAuthenticator checks a device's credentials (its id and the secret
// issued by POST /api/v1/devices/{id}/secret), as the MQTT broker asks:
// Unauthorized for an unknown device, one without a secret, or a wrong
// secret, all alike.
func DeviceAuthenticator(devices DeviceSource) func(ctx context.Context, deviceID, secret string) error {
	return func(ctx context.Context, deviceID, secret string) error {
		d, err := devices.Device(ctx, deviceID)
		if err != nil || d.SecretHash == "" || !VerifySecret(d.SecretHash, secret) {
			return civic.Errorf(civic.Unauthorized, "bad device credentials")
		}
		return nil
	}
}
