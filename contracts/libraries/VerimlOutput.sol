// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title VerimlOutput
/// @notice The one on-chain encoding of a model output, in every mode: `abi.encode(int256[] values)`, the
/// quantized values of the integer graph's last tensor (for a classifier with an ArgMax node: one value,
/// the label). Modules accept only the canonical encoding; consumers decode it here and dequantize with
/// the model's registered output scale.
library VerimlOutput {
    /// @notice The output is not the canonical abi.encode(int256[]) (or not of the expected length).
    error VerimlOutputMalformed(uint256 length);
    /// @notice The output has no values.
    error VerimlOutputEmpty();

    /// @notice Decodes a canonical output; `ok` is false (and `values` empty) for any other byte string.
    function tryDecode(bytes memory output) internal pure returns (bool ok, int256[] memory values) {
        if (output.length < 64 || output.length % 32 != 0) return (false, values);
        uint256 offset;
        uint256 count;
        assembly ("memory-safe") {
            offset := mload(add(output, 0x20))
            count := mload(add(output, 0x40))
        }
        if (offset != 0x20 || output.length != 64 + 32 * count) return (false, values);
        values = abi.decode(output, (int256[]));
        return (true, values);
    }

    /// @notice Decodes a canonical output or reverts.
    function decode(bytes memory output) internal pure returns (int256[] memory values) {
        bool ok;
        (ok, values) = tryDecode(output);
        if (!ok) revert VerimlOutputMalformed(output.length);
    }

    /// @notice The canonical encoding of `values`.
    function encode(int256[] memory values) internal pure returns (bytes memory) {
        return abi.encode(values);
    }

    /// @notice Index of the first maximum (a classifier's label from logits or probabilities).
    function argmax(int256[] memory values) internal pure returns (uint256 best) {
        if (values.length == 0) revert VerimlOutputEmpty();
        for (uint256 i = 1; i < values.length; ++i) {
            if (values[i] > values[best]) best = i;
        }
    }

    /// @notice A quantized value as an 18-decimal fixed-point number: q * scale, with the scale given as a
    /// fraction `scaleNumerator / scaleDenominator` (from the model's registered interface).
    function toFixed18(int256 q, int256 scaleNumerator, int256 scaleDenominator) internal pure returns (int256) {
        return (q * scaleNumerator * 1e18) / scaleDenominator;
    }
}
