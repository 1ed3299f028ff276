/** The variables for the test bed described by testbed.json (`tb`); PATH gets the bed's bin dir in front. */
export function testbedVariables(
  tb: {
    binDir?: string;
    kubeconfig?: string;
    dockerHost?: string;
    registry?: string;
    prometheusUrl?: string;
    realNode?: {
      gateway?: { url?: string };
      podAccess?: { apiServer?: string; apiServerName?: string; prometheusUrl?: string };
    };
  },
  pathVar?: string,
): Record<string, string>;
