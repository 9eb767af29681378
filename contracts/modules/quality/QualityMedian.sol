// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title QualityMedian
/// @notice Median of a committee's revealed scores (at most a few dozen values, so an insertion sort in
/// memory is cheaper than anything cleverer).
library QualityMedian {
    /// @notice Sorts `values` in place, ascending.
    function sort(uint16[] memory values) internal pure {
        uint256 n = values.length;
        for (uint256 i = 1; i < n; ++i) {
            uint16 v = values[i];
            uint256 j = i;
            while (j > 0 && values[j - 1] > v) {
                values[j] = values[j - 1];
                --j;
            }
            values[j] = v;
        }
    }

    /// @notice The median of `values` (sorted in place): the middle value, or the floor of the mean of the
    /// two middle values for an even count. Robust to any minority of arbitrary values: with `n` values and
    /// fewer than `n / 2` liars, the median lies between two honest scores. Zero for an empty array.
    function median(uint16[] memory values) internal pure returns (uint16) {
        uint256 n = values.length;
        if (n == 0) return 0;
        sort(values);
        if (n % 2 == 1) return values[n / 2];
        return uint16((uint256(values[n / 2 - 1]) + uint256(values[n / 2])) / 2);
    }

    /// @notice |a - b|.
    function distance(uint16 a, uint16 b) internal pure returns (uint16) {
        return a > b ? a - b : b - a;
    }
}
