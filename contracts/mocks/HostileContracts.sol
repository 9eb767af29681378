// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IBenchmarkVerifier} from "../interfaces/IBenchmarkVerifier.sol";
import {IAIOracleConsumer} from "../interfaces/IAIOracleConsumer.sol";
import {IInferenceVerifier} from "../interfaces/IInferenceVerifier.sol";
import {IInferenceMarket} from "../interfaces/IInferenceMarket.sol";

/// @title HostileConsumer
/// @notice Test-only consumer that misbehaves in its callback, one way per `behaviour`.
contract HostileConsumer is IAIOracleConsumer {
    enum Behaviour {
        Revert,
        BurnGas,
        ReturnBomb,
        ReenterFinalize,
        ReenterWithdraw,
        ChainRequest
    }

    IInferenceMarket private immutable _market;
    Behaviour public behaviour;
    bool public reentrySucceeded;
    uint256 public chainedRequestId;
    IInferenceMarket.RequestParams private _chained;

    constructor(IInferenceMarket market_) {
        _market = market_;
    }

    function setBehaviour(Behaviour behaviour_) external {
        behaviour = behaviour_;
    }

    function setChainedRequest(IInferenceMarket.RequestParams calldata params) external {
        _chained = params;
    }

    function request(IInferenceMarket.RequestParams calldata params) external payable returns (uint256) {
        return _market.createRequest{value: msg.value}(params);
    }

    function withdrawFromMarket() external {
        _market.withdraw(address(0));
    }

    function onInferenceResult(uint256 requestId, bytes calldata) external {
        if (behaviour == Behaviour.Revert) revert("hostile consumer");
        if (behaviour == Behaviour.BurnGas) {
            uint256 x;
            while (true) x++;
        }
        if (behaviour == Behaviour.ReturnBomb) {
            assembly {
                revert(0, 1000000)
            }
        }
        if (behaviour == Behaviour.ReenterFinalize) {
            (bool ok, ) = address(_market).call(abi.encodeCall(IInferenceMarket.finalize, (requestId)));
            reentrySucceeded = ok;
            return;
        }
        if (behaviour == Behaviour.ReenterWithdraw) {
            (bool ok, ) = address(_market).call(abi.encodeCall(IInferenceMarket.withdraw, (address(0))));
            reentrySucceeded = ok;
            return;
        }
        if (behaviour == Behaviour.ChainRequest) {
            chainedRequestId = _market.createRequest{value: _chained.maxFee}(_chained);
        }
    }

    receive() external payable {}
}

/// @title ReentrantToken
/// @notice Test-only ERC-20 that calls back into the market on every transfer, to prove the market's
/// guards hold against a hostile token.
contract ReentrantToken is ERC20 {
    IInferenceMarket private immutable _market;
    bool public armed;
    bool public reentrySucceeded;
    bytes public reentryCall;

    constructor(IInferenceMarket market_) ERC20("Reentrant", "RE") {
        _market = market_;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function arm(bytes calldata call) external {
        armed = true;
        reentryCall = call;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (armed) {
            armed = false;
            (bool ok, ) = address(_market).call(reentryCall);
            reentrySucceeded = ok;
        }
    }
}

/// @title LyingVerifier
/// @notice Test-only: claims any model hash and accepts every proof (what a malicious model owner could
/// deploy as a "verifier"). Shows what the pinned code hash in a zk config does and does not protect.
contract LyingVerifier {
    bytes32 public immutable MODEL_HASH;

    constructor(bytes32 modelHash) {
        MODEL_HASH = modelHash;
    }

    function BATCH_SIZE() external pure returns (uint256) {
        return 1;
    }

    function verifyInferences(
        uint256[2] calldata,
        uint256[2][2] calldata,
        uint256[2] calldata,
        bytes[] calldata,
        int256[][] calldata
    ) external pure returns (bool) {
        return true;
    }

    function verifyInference(
        uint256[2] calldata,
        uint256[2][2] calldata,
        uint256[2] calldata,
        bytes calldata,
        int256[] calldata
    ) external pure returns (bool) {
        return true;
    }

    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == 0x01ffc9a7 || interfaceId == type(IInferenceVerifier).interfaceId;
    }
}

/// @notice A verifier claiming a model's hash but refusing every proof (another verification key): a model
/// owner who configures it makes every honest proof fail, and honest operators must refuse to claim.
contract RefusingVerifier {
    bytes32 public immutable MODEL_HASH;

    constructor(bytes32 modelHash) {
        MODEL_HASH = modelHash;
    }

    function BATCH_SIZE() external pure returns (uint256) {
        return 1;
    }

    function verifyInferences(
        uint256[2] calldata,
        uint256[2][2] calldata,
        uint256[2] calldata,
        bytes[] calldata,
        int256[][] calldata
    ) external pure returns (bool) {
        return false;
    }

    function verifyInference(
        uint256[2] calldata,
        uint256[2][2] calldata,
        uint256[2] calldata,
        bytes calldata,
        int256[] calldata
    ) external pure returns (bool) {
        return false;
    }

    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == 0x01ffc9a7 || interfaceId == type(IInferenceVerifier).interfaceId;
    }
}

/// @notice Test-only: a verifier of the right model and functions that does not declare IInferenceVerifier
/// through ERC-165 (a verifier from before the interface, or a foreign one): the ZkModule refuses it.
contract UndeclaredVerifier {
    bytes32 public immutable MODEL_HASH;

    constructor(bytes32 modelHash) {
        MODEL_HASH = modelHash;
    }

    function BATCH_SIZE() external pure returns (uint256) {
        return 1;
    }

    function verifyInferences(
        uint256[2] calldata,
        uint256[2][2] calldata,
        uint256[2] calldata,
        bytes[] calldata,
        int256[][] calldata
    ) external pure returns (bool) {
        return true;
    }

    function verifyInference(
        uint256[2] calldata,
        uint256[2][2] calldata,
        uint256[2] calldata,
        bytes calldata,
        int256[] calldata
    ) external pure returns (bool) {
        return true;
    }
}

/// @notice Test-only: a declared verifier of the right model whose BATCH_SIZE is whatever it is built with
/// (the ZkModule refuses batch sizes outside [1, MAX_BATCH_SIZE], whose proofs' gas would be unbounded).
contract BatchSizeVerifier {
    bytes32 public immutable MODEL_HASH;
    uint256 public immutable BATCH_SIZE;

    constructor(bytes32 modelHash, uint256 batchSize) {
        MODEL_HASH = modelHash;
        BATCH_SIZE = batchSize;
    }

    function verifyInference(
        uint256[2] calldata,
        uint256[2][2] calldata,
        uint256[2] calldata,
        bytes calldata,
        int256[] calldata
    ) external pure returns (bool) {
        return false;
    }

    function verifyInferences(
        uint256[2] calldata,
        uint256[2][2] calldata,
        uint256[2] calldata,
        bytes[] calldata,
        int256[][] calldata
    ) external pure returns (bool) {
        return false;
    }

    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == 0x01ffc9a7 || interfaceId == type(IInferenceVerifier).interfaceId;
    }
}

/// @title ShiftyBenchmarkVerifier
/// @notice Test-only: a benchmark verifier whose MODEL_HASH reads storage, so its owner can change it after the
/// registry checked it (a pinned code hash pins code, not state), and which accepts every proof.
contract ShiftyBenchmarkVerifier {
    bytes32 public MODEL_HASH;
    uint256 public immutable SAMPLES;

    constructor(bytes32 modelHash, uint256 samples) {
        MODEL_HASH = modelHash;
        SAMPLES = samples;
    }

    function setModelHash(bytes32 modelHash) external {
        MODEL_HASH = modelHash;
    }

    function verifyAttestation(
        uint256[2] calldata,
        uint256[2][2] calldata,
        uint256[2] calldata,
        uint256,
        uint256,
        address
    ) external pure returns (bool) {
        return true;
    }

    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == 0x01ffc9a7 || interfaceId == type(IBenchmarkVerifier).interfaceId;
    }
}
