// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Test} from "./utils/Test.sol";
import {QualityMedian} from "../../contracts/modules/quality/QualityMedian.sol";

/// @notice Fuzz tests of the committee median: sorting, bounds, and robustness to a lying minority.
contract QualityMedianFuzzTest is Test {
    uint16 internal constant MAX_SCORE = 10_000;

    function _scores(uint256 seed, uint256 n) private pure returns (uint16[] memory values) {
        values = new uint16[](n);
        for (uint256 i = 0; i < n; ++i) values[i] = uint16(uint256(keccak256(abi.encode(seed, i))) % (MAX_SCORE + 1));
    }

    function testFuzz_SortsAscendingAndKeepsTheValues(uint256 seed, uint8 rawN) public pure {
        uint256 n = bound(rawN, 0, 15);
        uint16[] memory values = _scores(seed, n);
        uint256 sumBefore;
        for (uint256 i = 0; i < n; ++i) sumBefore += values[i];
        QualityMedian.sort(values);
        uint256 sumAfter;
        for (uint256 i = 0; i < n; ++i) {
            sumAfter += values[i];
            if (i > 0) assertLe(values[i - 1], values[i], "sorted");
        }
        assertEq(sumAfter, sumBefore, "same values");
    }

    function testFuzz_MedianLiesBetweenMinAndMaxAndSplitsTheValues(uint256 seed, uint8 rawN) public pure {
        uint256 n = bound(rawN, 1, 15);
        uint16[] memory values = _scores(seed, n);
        uint16 med = QualityMedian.median(values); // sorts `values`
        assertLe(values[0], med, "min <= median");
        assertLe(med, values[n - 1], "median <= max");
        uint256 below;
        uint256 above;
        for (uint256 i = 0; i < n; ++i) {
            if (values[i] < med) ++below;
            if (values[i] > med) ++above;
        }
        assertLe(below, n / 2, "at most half below");
        assertLe(above, n / 2, "at most half above");
    }

    /// Honest members agree within `spread`; any minority of liars can move the median no farther than
    /// the honest range.
    function testFuzz_MinorityOfLiarsCannotLeaveTheHonestRange(
        uint256 seed,
        uint8 rawN,
        uint16 rawHonest,
        uint16 rawSpread
    ) public pure {
        uint256 n = bound(rawN, 1, 15);
        uint256 liars = (n - 1) / 2;
        uint256 spread = bound(rawSpread, 0, 1_000);
        uint256 honest = bound(rawHonest, 0, MAX_SCORE - spread);
        uint16[] memory values = new uint16[](n);
        for (uint256 i = 0; i < n; ++i) {
            uint256 r = uint256(keccak256(abi.encode(seed, i)));
            values[i] = i < liars ? uint16(r % (MAX_SCORE + 1)) : uint16(honest + (r % (spread + 1)));
        }
        uint16 med = QualityMedian.median(values);
        assertGe(med, honest, "median >= lowest honest score");
        assertLe(med, honest + spread, "median <= highest honest score");
    }

    function test_EmptyMedianIsZero() public pure {
        assertEq(QualityMedian.median(new uint16[](0)), 0, "empty");
        assertEq(QualityMedian.distance(3, 10), 7, "distance");
        assertEq(QualityMedian.distance(10, 3), 7, "distance symmetric");
    }
}
